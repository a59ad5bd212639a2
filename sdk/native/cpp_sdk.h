// cpp_sdk.h — OpenZone's drop-in for WeCom's C++ zone SDK (专区SDK) header.
//
// A program written against WeCom's cpp_sdk.h builds against this one
// unchanged and links OpenZone's libWeWorkSpecSDK.so instead of WeCom's:
//
//     g++ -std=c++11 -o program program.cpp -L. -lWeWorkSpecSDK -Wl,-rpath,'$ORIGIN'
//
// It needs no OpenSSL: the library carries its own cryptography. The zone is
// found from the environment the zone gives the instances it runs
// (OPENZONE_API, OPENZONE_PROGRAM_ID, OPENZONE_SECRET); in debug mode
// OPENZONE_API and
// Tencent::WxWork::SpecOpenDebugMode(debug_token, access_token) are enough.
//
// Receiving a call:
//
//     SpecCallbackSDK cb("POST", headers, body);     // ww-* names in any case
//     std::string rsp;
//     if (cb.IsOk()) rsp = Handle(cb.GetCallType(), cb.GetAbilityId(), cb.GetData());
//     std::map<std::string, std::string> rsp_headers;
//     std::string rsp_body;
//     cb.BuildResponseHeaderBody(rsp, &rsp_headers, &rsp_body);  // rsp "" when !IsOk()
//     // answer 200 with rsp_headers and rsp_body
//
// Calling the zone:
//
//     SpecSdk sdk(cb);                               // or SpecSdk sdk(corpid, agentid, ability_id, job_info)
//     std::string reply;
//     int ret = sdk.Invoke("sync_msg", "{\"limit\":10}", &reply);
//     // ret 0: the call went through; read errcode in reply. Else WeCom's codes:
//     // -10001 internal / not initialised, -10002 network, -10003 HTTP status,
//     // -10004 signature, -10005 decryption, -10006 not an interface name,
//     // -10008 secret version (debug mode: open it again), -10009 invalid JSON.
//
// Logging: WWSPEC_LOG_INFO / WWSPEC_LOG_ERROR / WWSPEC_LOG_DEBUG(fmt, ...),
// printf-style, write WeCom's line format to standard error.
//
// Unlike WeCom's, SpecCallbackSDK copies what it needs at construction: the
// headers and body need not outlive it. Objects are not copyable (they own a
// handle into the library); they are movable.
#ifndef OPENZONE_WWSPEC_CPP_SDK_H
#define OPENZONE_WWSPEC_CPP_SDK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// The library's C ABI (libWeWorkSpecSDK.so). Strings are pointer and length;
// returned strings are malloc'd, NUL-terminated, freed with wwspec_free.
void wwspec_free(void *p);
void wwspec_free_handle(int64_t h);
int64_t wwspec_callback_new(const char *method, size_t method_len, const char **names, const char **values,
                            size_t *name_lens, size_t *value_lens, size_t n, const char *body, size_t body_len);
int64_t wwspec_callback_int(int64_t h, int field);
char *wwspec_callback_str(int64_t h, int field, size_t *len);
char *wwspec_callback_respond(int64_t h, const char *rsp, size_t rsp_len, size_t *body_len, char **headers,
                              size_t *headers_len);
int64_t wwspec_sdk_new(const char *corpid, size_t corpid_len, int64_t agentid, const char *ability_id,
                       size_t ability_id_len, const char *job_info, size_t job_info_len);
int64_t wwspec_sdk_for(int64_t callback);
int wwspec_sdk_invoke(int64_t h, const char *api, size_t api_len, const char *req, size_t req_len, char **rsp,
                      size_t *rsp_len);
int wwspec_open_debug_mode(const char *debug_token, size_t debug_token_len, const char *access_token,
                           size_t access_token_len);
char *wwspec_generate_notify_id(size_t *len);
char *wwspec_sdk_version(size_t *len);
void wwspec_log(int level, const char *req_id, const char *file, int line, const char *text, size_t text_len);
int64_t wwspec_live_objects(void);

#ifdef __cplusplus
}  // extern "C"

#include <cstdarg>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace Tencent {
namespace WxWork {

namespace detail {
enum Field { kCorpId, kAgentId, kCallType, kData, kIsAsync, kJobInfo, kAbilityId, kNotifyId, kCode };

// take returns the library string p as a std::string and frees it.
inline std::string take(char *p, size_t n) {
    std::string s = p ? std::string(p, n) : std::string();
    wwspec_free(p);
    return s;
}

inline void log(int level, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
inline void log(int level, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    std::vector<char> buf(n > 0 ? n + 1 : 1);
    if (n > 0) std::vsnprintf(&buf[0], buf.size(), fmt, ap2);
    va_end(ap2);
    const char *base = file;
    for (const char *p = file; *p; ++p)
        if (*p == '/') base = p + 1;
    wwspec_log(level, "", base, line, &buf[0], n > 0 ? size_t(n) : 0);
}
}  // namespace detail

// SpecCallbackSDK opens one call from the zone (an app's call of an ability,
// or an event) and seals the answer to it. A request that cannot be opened
// gives IsOk() == false (never an exception); its answer then carries the
// ww-exception header.
class SpecCallbackSDK {
   public:
    SpecCallbackSDK(const std::string &method, const std::map<std::string, std::string> &headers,
                    const std::string &body) {
        Open(method, headers, body);
    }
    // Any other map of header names to values (std::unordered_map, …).
    template <class Map>
    SpecCallbackSDK(const std::string &method, const Map &headers, const std::string &body) {
        Open(method, headers, body);
    }
    ~SpecCallbackSDK() { wwspec_free_handle(h_); }
    SpecCallbackSDK(SpecCallbackSDK &&o) : h_(o.h_) { o.h_ = 0; }
    SpecCallbackSDK &operator=(SpecCallbackSDK &&o) {
        std::swap(h_, o.h_);
        return *this;
    }

    bool IsOk() const { return wwspec_callback_int(h_, detail::kCode) == 0; }
    std::string GetCorpId() const { return Str(detail::kCorpId); }
    int64_t GetAgentId() const { return wwspec_callback_int(h_, detail::kAgentId); }
    // 1 an app's call, 2 an event. (OpenZone's pre-flight probe of a debug
    // receiver comes as an app's call of no ability: answer it as an unknown one.)
    int GetCallType() const { return int(wwspec_callback_int(h_, detail::kCallType)); }
    std::string GetData() const { return Str(detail::kData); }
    bool GetIsAsync() const { return wwspec_callback_int(h_, detail::kIsAsync) != 0; }
    std::string GetJobInfo() const { return Str(detail::kJobInfo); }
    std::string GetAbilityId() const { return Str(detail::kAbilityId); }
    std::string GetNotifyId() const { return Str(detail::kNotifyId); }

    // BuildResponseHeaderBody seals rsp as the answer: *headers receives the
    // response headers, *encrypted_body the body. Pass "" when !IsOk().
    template <class Map>
    void BuildResponseHeaderBody(const std::string &rsp, Map *headers, std::string *encrypted_body) const {
        size_t body_len = 0, headers_len = 0;
        char *hb = NULL;
        char *body = wwspec_callback_respond(h_, rsp.data(), rsp.size(), &body_len, &hb, &headers_len);
        if (encrypted_body) *encrypted_body = detail::take(body, body_len);
        else wwspec_free(body);
        std::string all = detail::take(hb, headers_len);
        for (size_t i = 0; headers && i < all.size();) {
            size_t k = all.find('\0', i);
            size_t v = all.find('\0', k + 1);
            if (k == std::string::npos || v == std::string::npos) break;
            (*headers)[all.substr(i, k - i)] = all.substr(k + 1, v - k - 1);
            i = v + 1;
        }
    }

    // The library handle, for SpecSdk(const SpecCallbackSDK&).
    int64_t GetPtr() const { return h_; }

   private:
    SpecCallbackSDK(const SpecCallbackSDK &);
    SpecCallbackSDK &operator=(const SpecCallbackSDK &);

    template <class Map>
    void Open(const std::string &method, const Map &headers, const std::string &body) {
        std::vector<const char *> names, values;
        std::vector<size_t> name_lens, value_lens;
        for (typename Map::const_iterator it = headers.begin(); it != headers.end(); ++it) {
            names.push_back(it->first.data());
            name_lens.push_back(it->first.size());
            values.push_back(it->second.data());
            value_lens.push_back(it->second.size());
        }
        size_t n = names.size();
        h_ = wwspec_callback_new(method.data(), method.size(), n ? &names[0] : NULL, n ? &values[0] : NULL,
                                 n ? &name_lens[0] : NULL, n ? &value_lens[0] : NULL, n, body.data(), body.size());
    }
    std::string Str(int field) const {
        size_t n = 0;
        char *p = wwspec_callback_str(h_, field, &n);
        return detail::take(p, n);
    }

    int64_t h_;
};

// SpecSdk calls the zone's SDK interfaces for a corp, app and ability, or for
// the call a SpecCallbackSDK serves.
class SpecSdk {
   public:
    SpecSdk(const std::string &corpid, int64_t agentid, const std::string &ability_id = "",
            const std::string &job_info = "")
        : h_(wwspec_sdk_new(corpid.data(), corpid.size(), agentid, ability_id.data(), ability_id.size(),
                            job_info.data(), job_info.size())) {}
    // Acts for the call cb serves (it must be IsOk()), with its secret; cb may
    // be destroyed afterwards.
    explicit SpecSdk(const SpecCallbackSDK &cb) : h_(wwspec_sdk_for(cb.GetPtr())) {}
    ~SpecSdk() { wwspec_free_handle(h_); }
    SpecSdk(SpecSdk &&o) : h_(o.h_) { o.h_ = 0; }
    SpecSdk &operator=(SpecSdk &&o) {
        std::swap(h_, o.h_);
        return *this;
    }

    // Invoke calls the interface api_name with the JSON request req; *rsp
    // receives its JSON reply (on failure, {"errcode":<code>,"errmsg":…}).
    int Invoke(const std::string &api_name, const std::string &req, std::string *rsp) {
        char *out = NULL;
        size_t n = 0;
        int ret = wwspec_sdk_invoke(h_, api_name.data(), api_name.size(), req.data(), req.size(), &out, &n);
        std::string s = detail::take(out, n);
        if (rsp) rsp->swap(s);
        return ret;
    }

   private:
    SpecSdk(const SpecSdk &);
    SpecSdk &operator=(const SpecSdk &);
    int64_t h_;
};

// SpecOpenDebugMode opens the SDK half of debug mode with the program's debug
// credential (调试凭证) and the app's access_token; false when the zone refused
// (the reason is logged, never the tokens).
inline bool SpecOpenDebugMode(const std::string &debug_token, const std::string &access_token) {
    return wwspec_open_debug_mode(debug_token.data(), debug_token.size(), access_token.data(),
                                  access_token.size()) != 0;
}

// GenerateNotifyId returns a fresh notify_id for spec_notify_app.
inline std::string GenerateNotifyId() {
    size_t n = 0;
    char *p = wwspec_generate_notify_id(&n);
    return detail::take(p, n);
}

// GetSDKVersion returns the library's version.
inline std::string GetSDKVersion() {
    size_t n = 0;
    char *p = wwspec_sdk_version(&n);
    return detail::take(p, n);
}

}  // namespace WxWork
}  // namespace Tencent

// WeCom's programs name the classes without a namespace.
using Tencent::WxWork::GenerateNotifyId;
using Tencent::WxWork::SpecCallbackSDK;
using Tencent::WxWork::SpecSdk;

#define WWSPEC_LOG_INFO(fmt, ...) ::Tencent::WxWork::detail::log(0, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define WWSPEC_LOG_ERROR(fmt, ...) ::Tencent::WxWork::detail::log(1, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define WWSPEC_LOG_DEBUG(fmt, ...) ::Tencent::WxWork::detail::log(2, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

#endif  // __cplusplus
#endif  // OPENZONE_WWSPEC_CPP_SDK_H
