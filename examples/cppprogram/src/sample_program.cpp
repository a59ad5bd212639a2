// sample_program is a zone program (专区程序) written against WeCom's C++ SDK,
// cpp_sdk.h over libWeWorkSpecSDK.so. It ports the behaviour of WeCom's
// sample program and knows nothing of OpenZone: with WeCom's header and
// library it would run in WeCom's zone; with the ones `openzone sdk export
// --lang cpp` writes, it runs on OpenZone, deployed or in debug mode. It
// needs only the C++11 standard library and POSIX sockets.
//
// Abilities: echo ({"text":"…"} → {"text":"…","served_by":"<--name>"}),
// invoke_<interface> (request_data to that SDK interface, its reply back),
// get_callback_data (the event stored under the call's notify_id, as the
// event's own JSON). Events (call_type 2): the event is kept for 20 minutes
// under a fresh notify_id (GenerateNotifyId), then spec_notify_app tells
// the app with it. Async calls are
// acknowledged at once and reported with program_async_job_call_back.
//
//     g++ -std=c++11 -pthread -I SDK -o sample_program sample_program.cpp -L SDK -lWeWorkSpecSDK -Wl,-rpath,SDK
//     ./sample_program [--port 8080] [--host 0.0.0.0] [--name NAME] [--debug-token T --access-token A]
//
// PORT, HOST, OPENZONE_DEBUG_TOKEN and OPENZONE_ACCESS_TOKEN stand in for
// the flags.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cpp_sdk.h"

namespace {

const int kDemoError = 710660;  // the sample's internal error code
const int kEventTTL = 20 * 60;  // seconds an event stays fetchable

std::string g_name = "cppprogram";
std::mutex g_mu;
std::map<std::string, std::pair<std::string, long long> > g_events;  // notify_id -> event JSON, expiry

long long Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Quote(const std::string &s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out + "\"";
}

std::string Err(const std::string &msg) {
    return "{\"errcode\":" + std::to_string(kDemoError) + ",\"errmsg\":" + Quote(msg) + "}";
}

// Just enough JSON for the sample: the top-level members of an object, as
// raw JSON text, and strings decoded.
class Json {
   public:
    // Members parses an object into *out (member → raw value); false if
    // s is not one.
    static bool Members(const std::string &s, std::map<std::string, std::string> *out) {
        Json j(s);
        j.Space();
        if (!j.Eat('{')) return false;
        j.Space();
        if (j.Eat('}')) return j.End();
        for (;;) {
            j.Space();
            std::string k;
            if (!j.String(&k)) return false;
            j.Space();
            if (!j.Eat(':')) return false;
            j.Space();
            size_t start = j.i_;
            if (!j.Skip()) return false;
            (*out)[k] = s.substr(start, j.i_ - start);
            j.Space();
            if (j.Eat(',')) continue;
            return j.Eat('}') && j.End();
        }
    }

    // Str decodes the JSON string raw into *out.
    static bool Str(const std::string &raw, std::string *out) {
        Json j(raw);
        return j.String(out) && j.End();
    }

   private:
    explicit Json(const std::string &s) : s_(s), i_(0) {}
    bool End() {
        Space();
        return i_ == s_.size();
    }
    void Space() {
        while (i_ < s_.size() && std::isspace((unsigned char)s_[i_])) i_++;
    }
    bool Eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            i_++;
            return true;
        }
        return false;
    }
    static void Utf8(unsigned cp, std::string *out) {
        if (cp < 0x80) {
            *out += char(cp);
        } else if (cp < 0x800) {
            *out += char(0xC0 | (cp >> 6));
            *out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *out += char(0xE0 | (cp >> 12));
            *out += char(0x80 | ((cp >> 6) & 0x3F));
            *out += char(0x80 | (cp & 0x3F));
        } else {
            *out += char(0xF0 | (cp >> 18));
            *out += char(0x80 | ((cp >> 12) & 0x3F));
            *out += char(0x80 | ((cp >> 6) & 0x3F));
            *out += char(0x80 | (cp & 0x3F));
        }
    }
    bool Hex4(unsigned *v) {
        if (i_ + 4 > s_.size()) return false;
        *v = 0;
        for (int k = 0; k < 4; k++) {
            char c = s_[i_++];
            *v <<= 4;
            if (c >= '0' && c <= '9') *v |= c - '0';
            else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
            else return false;
        }
        return true;
    }
    bool String(std::string *out) {
        if (!Eat('"')) return false;
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (c == '"') return true;
            if (c != '\\') {
                *out += c;
                continue;
            }
            if (i_ >= s_.size()) return false;
            char e = s_[i_++];
            switch (e) {
                case 'n': *out += '\n'; break;
                case 't': *out += '\t'; break;
                case 'r': *out += '\r'; break;
                case 'b': *out += '\b'; break;
                case 'f': *out += '\f'; break;
                case 'u': {
                    unsigned cp;
                    if (!Hex4(&cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00 && i_ + 6 <= s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
                        size_t save = i_;
                        i_ += 2;
                        unsigned lo;
                        if (Hex4(&lo) && lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        else i_ = save;
                    }
                    Utf8(cp, out);
                    break;
                }
                default: *out += e;
            }
        }
        return false;
    }
    // Skip passes over one value.
    bool Skip() {
        if (i_ >= s_.size()) return false;
        char c = s_[i_];
        if (c == '"') {
            std::string ignored;
            return String(&ignored);
        }
        if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            i_++;
            Space();
            if (Eat(close)) return true;
            for (;;) {
                Space();
                if (c == '{') {
                    std::string k;
                    if (!String(&k)) return false;
                    Space();
                    if (!Eat(':')) return false;
                    Space();
                }
                if (!Skip()) return false;
                Space();
                if (Eat(',')) continue;
                return Eat(close);
            }
        }
        size_t start = i_;
        while (i_ < s_.size() && (std::isalnum((unsigned char)s_[i_]) || s_[i_] == '-' || s_[i_] == '+' || s_[i_] == '.')) i_++;
        return i_ > start;
    }

    const std::string &s_;
    size_t i_;
};

// Work is an app call's response data.
std::string Work(SpecSdk *sdk, const std::string &ability, const std::string &data, const std::string &notify_id) {
    if (ability == "echo") {
        std::map<std::string, std::string> in;
        std::string text;
        if (!Json::Members(data.empty() ? "{}" : data, &in) || (in.count("text") && !Json::Str(in["text"], &text))) {
            return Err("request_data must be {\"text\":\"…\"}");
        }
        return "{\"text\":" + Quote(text) + ",\"served_by\":" + Quote(g_name) + "}";
    }
    if (ability == "get_callback_data") {
        if (notify_id.empty()) return Err("notify_id is empty: call with the notify_id of the program_notify callback");
        std::lock_guard<std::mutex> lock(g_mu);
        std::map<std::string, std::pair<std::string, long long> >::iterator it = g_events.find(notify_id);
        if (it == g_events.end() || it->second.second < Now()) {
            return Err("no callback data for this notify_id (unknown, or expired after 20 minutes)");
        }
        return it->second.first;
    }
    const std::string prefix = "invoke_";
    if (ability.compare(0, prefix.size(), prefix) == 0 && ability.size() > prefix.size()) {
        std::string rsp;
        int ret = sdk->Invoke(ability.substr(prefix.size()), data.empty() ? "{}" : data, &rsp);
        if (ret != 0) {
            WWSPEC_LOG_ERROR("invoke failed, ret = %d", ret);
            return Err("invoke failed: " + std::to_string(ret) + " " + rsp);
        }
        return rsp;
    }
    return Err("unknown ability " + ability);
}

// NotifyAndStore keeps the event under a fresh notify_id, then
// spec_notify_app tells the app with it: stored before the app is told, so
// an app that calls back at once finds it. False when the zone refused.
bool NotifyAndStore(const SpecCallbackSDK &cb) {
    std::string notify_id = GenerateNotifyId();
    {
        long long now = Now();
        std::lock_guard<std::mutex> lock(g_mu);
        for (std::map<std::string, std::pair<std::string, long long> >::iterator it = g_events.begin(); it != g_events.end();) {
            if (it->second.second < now) g_events.erase(it++);
            else ++it;
        }
        g_events[notify_id] = std::make_pair(cb.GetData(), now + kEventTTL);
    }
    SpecSdk sdk(cb);
    std::string rsp;
    int ret = sdk.Invoke("spec_notify_app", "{\"notify_id\":\"" + notify_id + "\"}", &rsp);
    std::map<std::string, std::string> m;
    if (ret != 0 || !Json::Members(rsp, &m) || m["errcode"] != "0") {
        WWSPEC_LOG_ERROR("spec_notify_app: ret = %d %s", ret, rsp.c_str());
        std::lock_guard<std::mutex> lock(g_mu);
        g_events.erase(notify_id);
        return false;
    }
    WWSPEC_LOG_INFO("event stored under notify_id %s", notify_id.c_str());
    return true;
}

// Report does an async call's work and reports it (上报异步任务结果).
void Report(std::shared_ptr<SpecSdk> sdk, std::string ability, std::string data, std::string notify_id) {
    std::string result = Work(sdk.get(), ability, data, notify_id), rsp;
    int ret = sdk->Invoke("program_async_job_call_back", "{\"errcode\":0,\"result\":" + Quote(result) + "}", &rsp);
    if (ret != 0) WWSPEC_LOG_ERROR("async report failed, ret = %d %s", ret, rsp.c_str());
}

// Serve answers one request: status and reply headers and body.
int Serve(const std::string &method, const std::map<std::string, std::string> &headers, const std::string &body,
          std::map<std::string, std::string> *rsp_headers, std::string *rsp_body) {
    if (method != "POST") {
        (*rsp_headers)["Allow"] = "POST";
        return 405;
    }
    SpecCallbackSDK cb(method, headers, body);
    std::string data;
    if (cb.IsOk()) {
        if (cb.GetCallType() == 2) {
            if (!NotifyAndStore(cb)) return 500;  // the zone delivers the event again
            data = "{}";
        } else if (cb.GetIsAsync()) {
            // Acknowledge now; the SpecSdk keeps the call's context (its
            // job_info too) for the report.
            std::shared_ptr<SpecSdk> sdk(new SpecSdk(cb));
            std::thread(Report, sdk, cb.GetAbilityId(), cb.GetData(), cb.GetNotifyId()).detach();
            data = "{}";
        } else {
            SpecSdk sdk(cb);
            data = Work(&sdk, cb.GetAbilityId(), cb.GetData(), cb.GetNotifyId());
        }
    } else {
        WWSPEC_LOG_ERROR("request could not be opened: answering with the SDK's exception");
    }
    // For a request that was not opened, "" gives the ww-exception answer.
    cb.BuildResponseHeaderBody(data, rsp_headers, rsp_body);
    return 200;
}

// --- a small HTTP/1.1 server ---

bool SendAll(int fd, const std::string &s) {
    for (size_t off = 0; off < s.size();) {
        ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += size_t(n);
    }
    return true;
}

std::string Lower(std::string s) {
    for (size_t i = 0; i < s.size(); i++) s[i] = char(std::tolower((unsigned char)s[i]));
    return s;
}

void Connection(int fd) {
    std::string buf;
    char chunk[16384];
    for (;;) {
        size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
            ssize_t n = recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0 || buf.size() > (1 << 20)) {
                close(fd);
                return;
            }
            buf.append(chunk, size_t(n));
        }
        std::string head = buf.substr(0, end);
        buf.erase(0, end + 4);
        size_t line_end = head.find("\r\n");
        std::string request_line = head.substr(0, line_end);
        std::string method = request_line.substr(0, request_line.find(' '));
        std::map<std::string, std::string> headers;
        size_t content_length = 0;
        bool keep_alive = request_line.find("HTTP/1.1") != std::string::npos;
        for (size_t i = line_end == std::string::npos ? head.size() : line_end + 2; i < head.size();) {
            size_t e = head.find("\r\n", i);
            if (e == std::string::npos) e = head.size();
            std::string h = head.substr(i, e - i);
            size_t colon = h.find(':');
            if (colon != std::string::npos) {
                std::string k = h.substr(0, colon), v = h.substr(colon + 1);
                v.erase(0, v.find_first_not_of(" \t"));
                headers[k] = v;  // the SDK matches the ww-* names in any case
                std::string lk = Lower(k);
                if (lk == "content-length") content_length = std::strtoul(v.c_str(), NULL, 10);
                if (lk == "connection") keep_alive = Lower(v) != "close";
            }
            i = e + 2;
        }
        while (buf.size() < content_length) {
            ssize_t n = recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                close(fd);
                return;
            }
            buf.append(chunk, size_t(n));
        }
        std::string body = buf.substr(0, content_length);
        buf.erase(0, content_length);

        std::map<std::string, std::string> rsp_headers;
        std::string rsp_body;
        int status = Serve(method, headers, body, &rsp_headers, &rsp_body);
        std::string out = "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : status == 405 ? " Method Not Allowed" : " Internal Server Error") + "\r\n";
        for (std::map<std::string, std::string>::iterator it = rsp_headers.begin(); it != rsp_headers.end(); ++it) {
            out += it->first + ": " + it->second + "\r\n";
        }
        out += "Content-Length: " + std::to_string(rsp_body.size()) + "\r\n";
        if (!keep_alive) out += "Connection: close\r\n";
        out += "\r\n" + rsp_body;
        if (!SendAll(fd, out) || !keep_alive) {
            close(fd);
            return;
        }
    }
}

std::string Env(const char *k, const std::string &def) {
    const char *v = std::getenv(k);
    return v && *v ? v : def;
}

void Usage(const std::string &why) {
    std::fprintf(stderr, "usage: sample_program [--port 8080] [--host 0.0.0.0] [--name NAME] [--debug-token T --access-token A]: %s\n", why.c_str());
    std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
    std::map<std::string, std::string> flags;
    flags["--port"] = Env("PORT", "8080");
    flags["--host"] = Env("HOST", "0.0.0.0");
    flags["--name"] = g_name;
    flags["--debug-token"] = Env("OPENZONE_DEBUG_TOKEN", "");
    flags["--access-token"] = Env("OPENZONE_ACCESS_TOKEN", "");
    for (int i = 1; i < argc; i++) {
        if (!flags.count(argv[i]) || i + 1 == argc) Usage(std::string("unknown flag or missing value: ") + argv[i]);
        flags[argv[i]] = argv[i + 1];
        i++;
    }
    g_name = flags["--name"];
    if (flags["--debug-token"].empty() != flags["--access-token"].empty()) Usage("debug mode needs both --debug-token and --access-token");

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::atoi(flags["--port"].c_str()));
    if (inet_pton(AF_INET, flags["--host"].c_str(), &addr.sin_addr) != 1) Usage("--host must be an IPv4 address");
    if (bind(ls, (sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 128) != 0) {
        std::perror("listen");
        return 1;
    }
    socklen_t len = sizeof addr;
    getsockname(ls, (sockaddr *)&addr, &len);
    WWSPEC_LOG_INFO("listening on %s:%d as %s", flags["--host"].c_str(), ntohs(addr.sin_port), g_name.c_str());
    std::printf("listening on %s:%d\n", flags["--host"].c_str(), ntohs(addr.sin_port));
    std::fflush(stdout);
    if (!flags["--debug-token"].empty()) {
        // The SDK half of debug mode: the two tokens are all it takes. Calls
        // may already come in: the server accepts them from here on.
        std::thread opener([&flags] {
            if (!Tencent::WxWork::SpecOpenDebugMode(flags["--debug-token"], flags["--access-token"])) {
                std::fprintf(stderr, "debug mode could not be opened\n");
                std::exit(1);
            }
            std::printf("debug mode: SDK half open\n");
            std::fflush(stdout);
        });
        opener.detach();
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::thread(Connection, fd).detach();
    }
}
