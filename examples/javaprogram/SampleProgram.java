import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.tencent.wework.SpecCallbackSDK;
import com.tencent.wework.SpecSDK;
import com.tencent.wework.SpecUtil;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A zone program (专区程序) written against WeCom's Java SDK, the classes
 * com.tencent.wework.SpecCallbackSDK, SpecSDK and SpecUtil over
 * libWeWorkSpecSDK.so. It ports the behaviour of WeCom's sample program and
 * knows nothing of OpenZone: with WeCom's library it would run in WeCom's
 * zone; with the SDK `openzone sdk export --lang java` writes, it runs on
 * OpenZone, deployed or in debug mode. Only the JDK is needed (Java 8+).
 *
 * <p>Abilities: echo ({"text":"…"} → {"text":"…","served_by":"&lt;--name&gt;"}),
 * invoke_&lt;interface&gt; (request_data to that SDK interface, its reply back),
 * get_callback_data (the event stored under the call's notify_id, as the
 * event's own JSON). Events (call_type 2): spec_notify_app, then the event is
 * kept under the returned notify_id for 20 minutes. Async calls are
 * acknowledged at once and reported with program_async_job_call_back.
 *
 * <p>Usage: java -Djava.library.path=SDK -jar sample.jar [--port 8080]
 * [--host 0.0.0.0] [--name NAME] [--debug-token T --access-token A]; PORT,
 * HOST, OPENZONE_DEBUG_TOKEN and OPENZONE_ACCESS_TOKEN stand in for the flags.
 */
public class SampleProgram {
    static final int DEMO_ERROR = 710660; // the sample's internal error code
    static final long EVENT_TTL_MS = 20 * 60 * 1000;

    static String name = "javaprogram";
    static final Map<String, Object[]> events = new ConcurrentHashMap<>(); // notify_id -> {event JSON, expiry}
    static final ExecutorService async = Executors.newCachedThreadPool();

    public static void main(String[] args) throws IOException {
        Map<String, String> flags = new HashMap<>();
        flags.put("--port", env("PORT", "8080"));
        flags.put("--host", env("HOST", "0.0.0.0"));
        flags.put("--name", name);
        flags.put("--debug-token", env("OPENZONE_DEBUG_TOKEN", ""));
        flags.put("--access-token", env("OPENZONE_ACCESS_TOKEN", ""));
        for (int i = 0; i < args.length; i++) {
            if (!flags.containsKey(args[i]) || i + 1 == args.length) usage("unknown flag or missing value: " + args[i]);
            flags.put(args[i], args[++i]);
        }
        name = flags.get("--name");
        String debugToken = flags.get("--debug-token"), accessToken = flags.get("--access-token");
        if (debugToken.isEmpty() != accessToken.isEmpty()) usage("debug mode needs both --debug-token and --access-token");

        // com.sun.net.httpserver writes the headers and the body apart:
        // without TCP_NODELAY, Nagle's algorithm holds the body for the
        // zone's delayed ACK, 40 ms a call.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        HttpServer server = HttpServer.create(new InetSocketAddress(flags.get("--host"), Integer.parseInt(flags.get("--port"))), 128);
        server.createContext("/", SampleProgram::handle);
        // A cached pool hands each exchange to the thread that went idle last
        // (warm caches; a fixed pool cycles through all of its threads).
        // WeCom's sample serves on the dispatcher thread (no executor), which
        // holds every call behind a slow invoke.
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        String addr = flags.get("--host") + ":" + server.getAddress().getPort();
        SpecUtil.WWSpecLogInfo("listening on " + addr + " as " + name);
        System.out.println("listening on " + addr);
        if (!debugToken.isEmpty()) {
            // The SDK half of debug mode: the two tokens are all it takes.
            if (!SpecUtil.OpenDebugMode(debugToken, accessToken)) {
                System.err.println("debug mode could not be opened");
                System.exit(1);
            }
            System.out.println("debug mode: SDK half open");
        }
    }

    static void handle(HttpExchange exchange) throws IOException {
        try {
            if (!"POST".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", "POST");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            // com.sun.net.httpserver spells names Ww-secret-ver: hand the
            // ww-* ones over in lower case, as WeCom's Java sample does.
            Map<String, String> headers = new HashMap<>();
            for (Map.Entry<String, List<String>> e : exchange.getRequestHeaders().entrySet()) {
                String k = e.getKey();
                headers.put(k.toLowerCase().startsWith("ww-") ? k.toLowerCase() : k, e.getValue().get(0));
            }
            String body = new String(readAll(exchange.getRequestBody()), StandardCharsets.UTF_8);

            SpecCallbackSDK callback = new SpecCallbackSDK("POST", headers, body);
            String data = "";
            if (callback.IsOk()) {
                try {
                    data = serve(callback);
                } catch (Exception e) {
                    SpecUtil.WWSpecLogError("call failed: " + e.getMessage());
                    exchange.sendResponseHeaders(500, -1);
                    return;
                }
            } else {
                SpecUtil.WWSpecLogError("request could not be opened: answering with the SDK's exception");
            }
            // For a request that was not opened, "" gives the ww-exception answer.
            callback.BuildResponseHeaderBody(data);
            for (Map.Entry<String, String> h : callback.GetResponseHeaders().entrySet()) {
                exchange.getResponseHeaders().set(h.getKey(), h.getValue());
            }
            byte[] out = callback.GetResponseBody().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, out.length == 0 ? -1 : out.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(out);
            }
        } finally {
            exchange.close();
        }
    }

    /** The response data of a call the SDK opened. */
    static String serve(SpecCallbackSDK callback) throws Exception {
        if (callback.GetCallType() == 2) {
            notifyAndStore(callback);
            return "{}";
        }
        if (callback.GetIsAsync()) {
            // Acknowledge now; report later with the call's context (its
            // job_info too), which the SpecSDK takes from the callback.
            final SpecSDK sdk = new SpecSDK(callback);
            final String ability = callback.GetAbilityId(), request = callback.GetData(), notifyId = callback.GetNotifyId();
            async.submit(() -> report(sdk, ability, request, notifyId));
            return "{}";
        }
        return work(new SpecSDK(callback), callback.GetAbilityId(), callback.GetData(), callback.GetNotifyId());
    }

    /** An app's call: the ability's response data. */
    static String work(SpecSDK sdk, String ability, String data, String notifyId) {
        if (ability.equals("echo")) {
            Object in;
            try {
                in = Json.parse(data.isEmpty() ? "{}" : data);
            } catch (IllegalArgumentException e) {
                return err("request_data must be {\"text\":\"…\"}");
            }
            Object text = in instanceof Map ? ((Map<?, ?>) in).get("text") : null;
            return "{\"text\":" + Json.quote(text == null ? "" : String.valueOf(text)) + ",\"served_by\":" + Json.quote(name) + "}";
        }
        if (ability.equals("get_callback_data")) {
            if (notifyId.isEmpty()) return err("notify_id is empty: call with the notify_id of the program_notify callback");
            Object[] ev = events.get(notifyId);
            if (ev == null || (Long) ev[1] < System.currentTimeMillis()) {
                return err("no callback data for this notify_id (unknown, or expired after 20 minutes)");
            }
            return (String) ev[0];
        }
        if (ability.startsWith("invoke_") && ability.length() > "invoke_".length()) {
            sdk.SetRequest(data.isEmpty() ? "{}" : data);
            int ret = sdk.Invoke(ability.substring("invoke_".length()));
            if (ret != 0) {
                SpecUtil.WWSpecLogError("invoke failed, ret = " + ret);
                return err("invoke failed: " + ret + " " + sdk.GetResponse());
            }
            return sdk.GetResponse();
        }
        return err("unknown ability " + ability);
    }

    /**
     * An event: kept under a fresh notify_id first, then spec_notify_app tells the app with it —
     * stored before the app is told, so an app that calls back at once finds it.
     */
    static void notifyAndStore(SpecCallbackSDK callback) {
        String notifyId = SpecUtil.GenerateNotifyId();
        long now = System.currentTimeMillis();
        events.values().removeIf(ev -> (Long) ev[1] < now);
        events.put(notifyId, new Object[] {callback.GetData(), now + EVENT_TTL_MS});
        SpecSDK sdk = new SpecSDK(callback);
        sdk.SetRequest("{\"notify_id\":\"" + notifyId + "\"}");
        int ret = sdk.Invoke("spec_notify_app");
        Object reply = ret == 0 ? Json.parse(sdk.GetResponse()) : null;
        Map<?, ?> m = reply instanceof Map ? (Map<?, ?>) reply : new HashMap<>();
        if (ret != 0 || !Long.valueOf(0).equals(m.get("errcode"))) {
            events.remove(notifyId);
            throw new IllegalStateException("spec_notify_app: ret = " + ret + " " + sdk.GetResponse());
        }
        SpecUtil.WWSpecLogInfo("event stored under notify_id " + notifyId);
    }

    /** Does an async call's work and reports it (上报异步任务结果). */
    static void report(SpecSDK sdk, String ability, String data, String notifyId) {
        String result;
        int code = 0;
        try {
            result = work(sdk, ability, data, notifyId);
        } catch (RuntimeException e) {
            result = err(String.valueOf(e.getMessage()));
            code = DEMO_ERROR;
        }
        sdk.SetRequest("{\"errcode\":" + code + ",\"result\":" + Json.quote(result) + "}");
        int ret = sdk.Invoke("program_async_job_call_back");
        if (ret != 0) SpecUtil.WWSpecLogError("async report failed, ret = " + ret + " " + sdk.GetResponse());
    }

    static String err(String msg) { return "{\"errcode\":" + DEMO_ERROR + ",\"errmsg\":" + Json.quote(msg) + "}"; }

    static String env(String k, String def) {
        String v = System.getenv(k);
        return v == null || v.isEmpty() ? def : v;
    }

    static void usage(String why) {
        System.err.println("usage: SampleProgram [--port 8080] [--host 0.0.0.0] [--name NAME] [--debug-token T --access-token A]: " + why);
        System.exit(2);
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
        return out.toByteArray();
    }

    /** Just enough JSON for the sample: WeCom's used fastjson; the JDK has none. */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) { this.s = s; }

        /** Parses s into Maps, Lists, Strings, Longs, Doubles, Booleans and nulls. */
        static Object parse(String s) {
            Json j = new Json(s);
            Object v = j.value();
            j.space();
            if (j.i != s.length()) throw new IllegalArgumentException("trailing data at " + j.i);
            return v;
        }

        static String quote(String v) {
            StringBuilder b = new StringBuilder("\"");
            for (int k = 0; k < v.length(); k++) {
                char c = v.charAt(k);
                switch (c) {
                    case '"': b.append("\\\""); break;
                    case '\\': b.append("\\\\"); break;
                    case '\n': b.append("\\n"); break;
                    case '\r': b.append("\\r"); break;
                    case '\t': b.append("\\t"); break;
                    default:
                        if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                        else b.append(c);
                }
            }
            return b.append('"').toString();
        }

        private void space() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
        }

        private IllegalArgumentException bad() { return new IllegalArgumentException("not JSON at " + i); }

        private Object value() {
            space();
            if (i >= s.length()) throw bad();
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++;
                space();
                if (i < s.length() && s.charAt(i) == '}') { i++; return m; }
                while (true) {
                    space();
                    if (i >= s.length() || s.charAt(i) != '"') throw bad();
                    String k = string();
                    space();
                    if (i >= s.length() || s.charAt(i++) != ':') throw bad();
                    m.put(k, value());
                    space();
                    if (i >= s.length()) throw bad();
                    if (s.charAt(i) == ',') { i++; continue; }
                    if (s.charAt(i++) == '}') return m;
                    throw bad();
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++;
                space();
                if (i < s.length() && s.charAt(i) == ']') { i++; return l; }
                while (true) {
                    l.add(value());
                    space();
                    if (i >= s.length()) throw bad();
                    if (s.charAt(i) == ',') { i++; continue; }
                    if (s.charAt(i++) == ']') return l;
                    throw bad();
                }
            }
            if (c == '"') return string();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String num = s.substring(start, i);
            try {
                return num.matches("-?\\d+") ? (Object) Long.valueOf(num) : (Object) Double.valueOf(num);
            } catch (NumberFormatException e) {
                throw bad();
            }
        }

        private String string() {
            StringBuilder b = new StringBuilder();
            i++; // the opening quote
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                if (i >= s.length()) break;
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break;
                    case 't': b.append('\t'); break;
                    case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u':
                        if (i + 4 > s.length()) throw bad();
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                        break;
                    default: b.append(e);
                }
            }
            throw bad();
        }
    }
}
