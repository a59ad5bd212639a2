// binding_driver drives the C++ binding (cpp_sdk.h) for internal/nativetest
// with the line protocol of BindingDriver.java: one request per line on
// standard input, one answer per line on standard output, fields separated
// by spaces and hex-encoded ("-" is a null reference, which C++ passes as
// an empty string).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cpp_sdk.h"

extern "C" {
// Test hooks of a library built with the tag wwspectest.
int wwspec_test_reset(const char *program_id, const char *secret, int64_t now);
char *wwspec_test_seal(const char *secret, const char *purpose, const char *program_id, int64_t ver,
                       const char *request_id, int64_t timestamp, const char *nonce_hex, const char *plain,
                       size_t plain_len, size_t *n);
char *wwspec_test_open(const char *secret, const char *purpose, const char *program_id, int64_t ver,
                       const char *request_id, int64_t timestamp, const char *body, size_t body_len, size_t *n);
}

static std::string unhex(const std::string &h) {
    if (h == "-") return std::string();
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(char(std::strtol(h.substr(i, 2).c_str(), NULL, 16)));
    return out;
}

static long long num(const std::string &h) { return std::atoll(unhex(h).c_str()); }

static void add(std::string *out, const std::string &v) {
    static const char digits[] = "0123456789abcdef";
    out->push_back(' ');
    for (size_t i = 0; i < v.size(); i++) {
        unsigned char c = (unsigned char)v[i];
        out->push_back(digits[c >> 4]);
        out->push_back(digits[c & 15]);
    }
}

static void add(std::string *out, long long v) {
    std::ostringstream s;
    s << v;
    add(out, s.str());
}

static std::string take(char *p, size_t n) {
    std::string s(p, n);
    wwspec_free(p);
    return s;
}

int main() {
    std::unique_ptr<SpecCallbackSDK> last;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::vector<std::string> f;
        for (size_t i = 0;;) {
            size_t j = line.find(' ', i);
            f.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
            if (j == std::string::npos) break;
            i = j + 1;
        }
        std::string out = "ok";
        const std::string &op = f[0];
        if (op == "reset") {
            add(&out, wwspec_test_reset(unhex(f[1]).c_str(), unhex(f[2]).c_str(), num(f[3])) ? "true" : "false");
        } else if (op == "seal") {
            std::string plain = unhex(f[8]);
            size_t n = 0;
            char *p = wwspec_test_seal(unhex(f[1]).c_str(), unhex(f[2]).c_str(), unhex(f[3]).c_str(), num(f[4]),
                                       unhex(f[5]).c_str(), num(f[6]), unhex(f[7]).c_str(), plain.data(), plain.size(), &n);
            add(&out, take(p, n));
        } else if (op == "open") {
            std::string body = unhex(f[7]);
            size_t n = 0;
            char *p = wwspec_test_open(unhex(f[1]).c_str(), unhex(f[2]).c_str(), unhex(f[3]).c_str(), num(f[4]),
                                       unhex(f[5]).c_str(), num(f[6]), body.data(), body.size(), &n);
            add(&out, take(p, n));
        } else if (op == "call") {
            std::map<std::string, std::string> headers;
            std::string all = unhex(f[2]);
            for (size_t i = 0; i < all.size();) {
                size_t k = all.find('\0', i), v = all.find('\0', k + 1);
                headers[all.substr(i, k - i)] = all.substr(k + 1, v - k - 1);
                i = v + 1;
            }
            last.reset(new SpecCallbackSDK(unhex(f[1]), headers, unhex(f[3])));
            SpecCallbackSDK &cb = *last;
            add(&out, cb.IsOk() ? "true" : "false");
            add(&out, cb.GetCorpId());
            add(&out, (long long)cb.GetAgentId());
            add(&out, (long long)cb.GetCallType());
            add(&out, cb.GetData());
            add(&out, cb.GetIsAsync() ? "true" : "false");
            add(&out, cb.GetJobInfo());
            add(&out, cb.GetAbilityId());
            add(&out, cb.GetNotifyId());
            std::map<std::string, std::string> rsp_headers;
            std::string rsp_body;
            cb.BuildResponseHeaderBody(unhex(f[4]), &rsp_headers, &rsp_body);
            std::string h;
            for (std::map<std::string, std::string>::iterator it = rsp_headers.begin(); it != rsp_headers.end(); ++it) {
                h += it->first;
                h.push_back('\0');
                h += it->second;
                h.push_back('\0');
            }
            add(&out, h);
            add(&out, rsp_body);
        } else if (op == "invokecb" || op == "invoke") {
            std::unique_ptr<SpecSdk> sdk;
            size_t a = 1;
            if (op == "invokecb") {
                sdk.reset(new SpecSdk(*last));
            } else {
                sdk.reset(new SpecSdk(unhex(f[1]), num(f[2]), unhex(f[3]), unhex(f[4])));
                a = 5;
            }
            std::string rsp;
            int code = sdk->Invoke(unhex(f[a]), unhex(f[a + 1]), &rsp);
            add(&out, (long long)code);
            add(&out, rsp);
        } else if (op == "debug") {
            add(&out, Tencent::WxWork::SpecOpenDebugMode(unhex(f[1]), unhex(f[2])) ? "true" : "false");
        } else if (op == "notifyid") {
            add(&out, Tencent::WxWork::GenerateNotifyId());
        } else if (op == "version") {
            add(&out, Tencent::WxWork::GetSDKVersion());
        } else if (op == "log") {
            std::string text = unhex(f[3]);
            switch (num(f[1])) {
                case 0: WWSPEC_LOG_INFO("%s", text.c_str()); break;
                case 1: WWSPEC_LOG_ERROR("%s", text.c_str()); break;
                default: WWSPEC_LOG_DEBUG("%s", text.c_str()); break;
            }
        } else if (op == "live") {
            last.reset();
            add(&out, (long long)wwspec_live_objects());
        } else {
            out = "error unknown op " + op;
        }
        std::cout << out << std::endl;
    }
    return 0;
}
