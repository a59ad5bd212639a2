import com.tencent.wework.SpecCallbackSDK;
import com.tencent.wework.SpecSDK;
import com.tencent.wework.SpecTestHooks;
import com.tencent.wework.SpecUtil;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

// Stress runs many Java threads through the library at once (run it with
// -Xcheck:jni): each opens fresh calls sealed through the test hooks,
// answers them, refuses replays and bad input, throws implicit
// NullPointerExceptions between native calls (HotSpot raises them through
// SIGSEGV, which Go's handler must hand on), invokes the zone, and asks for
// collections so the library frees handles while others are made. Usage:
// Stress <threads> <iterations per thread>. It prints one STRESS line and
// exits 0, or prints FAIL and exits 1.
public class Stress {
    public static void main(String[] args) throws Exception {
        final int threads = Integer.parseInt(args[0]);
        final int iterations = Integer.parseInt(args[1]);
        final String secret = System.getenv("OPENZONE_SECRET");
        final String programId = System.getenv("OPENZONE_PROGRAM_ID");
        final long ver = Long.parseLong(secret.substring(0, secret.indexOf(':')));
        final AtomicLong opened = new AtomicLong(), refused = new AtomicLong(), invoked = new AtomicLong(), npes = new AtomicLong();
        final AtomicReference<String> failure = new AtomicReference<>();

        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            final int id = t;
            ts[t] = new Thread(() -> {
                try {
                    for (int n = 0; n < iterations && failure.get() == null; n++) {
                        String reqId = String.format("%016x%016x", id, n);
                        long now = System.currentTimeMillis() / 1000;
                        String data = "{\"text\":\"t" + id + "-" + n + " 😀 中文 \\u0000\"}";
                        String call = "{\"corpid\":\"wwstress\",\"agentid\":" + (1000000 + id) + ",\"call_type\":1,\"data\":" + quote(data)
                                + ",\"is_async\":false,\"job_info\":\"\",\"ability_id\":\"echo\",\"notify_id\":\"\"}";
                        String body = SpecTestHooks.seal(secret, "call", programId, ver, reqId, now, "", call);
                        Map<String, String> h = new HashMap<>();
                        h.put(n % 2 == 0 ? "ww-secret-ver" : "Ww-secret-ver", Long.toString(ver));
                        h.put("ww-request-id", reqId);
                        h.put(n % 3 == 0 ? "WW-TIMESTAMP" : "ww-timestamp", Long.toString(now));
                        h.put("Host", "127.0.0.1:8080");

                        SpecCallbackSDK cb = new SpecCallbackSDK("POST", h, body);
                        if (!cb.IsOk() || !data.equals(cb.GetData()) || cb.GetAgentId() != 1000000 + id || !"echo".equals(cb.GetAbilityId())) {
                            fail(failure, "thread " + id + " call " + n + ": ok " + cb.IsOk() + " data " + cb.GetData());
                            return;
                        }
                        cb.BuildResponseHeaderBody(data);
                        String reply = SpecTestHooks.open(secret, "reply", programId, ver, reqId, now, cb.GetResponseBody());
                        if (!reply.equals("OK:{\"data\":" + quote(data) + "}") || !reqId.equals(cb.GetResponseHeaders().get("ww-request-id"))) {
                            fail(failure, "thread " + id + " reply " + n + ": " + reply);
                            return;
                        }
                        opened.incrementAndGet();

                        // The same packet again is a replay; then nothing at all.
                        SpecCallbackSDK again = new SpecCallbackSDK("POST", h, body);
                        again.BuildResponseHeaderBody("");
                        if (again.IsOk() || !"-10011".equals(again.GetResponseHeaders().get("ww-exception"))) {
                            fail(failure, "thread " + id + " replay " + n + " answered " + again.GetResponseHeaders());
                            return;
                        }
                        SpecCallbackSDK none = new SpecCallbackSDK(null, null, null);
                        if (none.IsOk()) {
                            fail(failure, "a call of nulls opened");
                            return;
                        }
                        refused.addAndGet(2);

                        try {
                            String s = n % 7 == 100 ? "never" : null;
                            s.length();
                        } catch (NullPointerException e) {
                            npes.incrementAndGet();
                        }

                        if (n % 25 == 0) {
                            SpecSDK sdk = new SpecSDK(cb);
                            sdk.SetRequest("{\"n\":" + n + ",\"t\":\"😀\"}");
                            int code = sdk.Invoke("sync_msg");
                            if (code != 0 || !sdk.GetResponse().contains("\"n\":" + n)) {
                                fail(failure, "thread " + id + " invoke " + n + ": " + code + " " + sdk.GetResponse());
                                return;
                            }
                            invoked.incrementAndGet();
                        }
                        if (n % 100 == 0) System.gc();
                    }
                } catch (Throwable e) {
                    fail(failure, "thread " + id + ": " + e);
                }
            });
        }
        for (Thread t : ts) t.start();
        for (Thread t : ts) t.join();
        if (failure.get() != null) {
            System.out.println("FAIL " + failure.get());
            System.exit(1);
        }
        System.out.println("STRESS opened=" + opened + " refused=" + refused + " invoked=" + invoked + " npes=" + npes + " live=" + SpecUtil.LiveObjects());
    }

    private static void fail(AtomicReference<String> failure, String why) { failure.compareAndSet(null, why); }

    // quote returns s as a JSON string.
    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
