import com.tencent.wework.SpecCallbackSDK;
import com.tencent.wework.SpecSDK;
import com.tencent.wework.SpecUtil;

import java.lang.reflect.Field;
import java.util.AbstractMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

// Edge feeds the Java face what only Java can: maps that hold other things
// than strings or throw, handles forged through reflection, nulls to
// SpecUtil. Each check prints PASS or FAIL and a name; nothing may throw
// out of the library or crash the JVM.
public class Edge {
    private static int failures;

    public static void main(String[] args) throws Exception {
        @SuppressWarnings({"rawtypes", "unchecked"})
        Map raw = new HashMap();
        raw.put(1, 2);
        raw.put("ww-secret-ver", 3);
        raw.put("ww-request-id", null);
        raw.put(null, "x");
        @SuppressWarnings("unchecked")
        SpecCallbackSDK rawCb = new SpecCallbackSDK("POST", raw, "AAAA");
        check("RawMapEntries", !rawCb.IsOk() && exception(rawCb).equals("-10009"));

        Map<String, String> throwing = new AbstractMap<String, String>() {
            @Override
            public Set<Map.Entry<String, String>> entrySet() { throw new IllegalStateException("no entries"); }
        };
        SpecCallbackSDK throwingCb = new SpecCallbackSDK("POST", throwing, "AAAA");
        check("ThrowingMap", !throwingCb.IsOk() && exception(throwingCb).equals("-10009"));

        for (long forged : new long[] {0, 1, -1, 123456789, Long.MIN_VALUE, Long.MAX_VALUE}) {
            SpecCallbackSDK cb = new SpecCallbackSDK("POST", new HashMap<String, String>(), "x");
            set(cb, "specCallbackSDKptr", forged);
            boolean ok = !cb.IsOk() && cb.GetData().equals("") && cb.GetCorpId().equals("") && cb.GetAgentId() == 0 && !cb.GetIsAsync();
            check("ForgedCallback" + forged, ok && exception(cb).startsWith("-"));
            SpecSDK sdk = new SpecSDK("c", 1);
            set(sdk, "specSDKptr", forged);
            sdk.SetRequest("{}");
            check("ForgedSDK" + forged, sdk.Invoke("sync_msg") == -10001 && sdk.GetResponse().contains("-10001"));
        }

        SpecCallbackSDK bad = new SpecCallbackSDK("POST", new HashMap<String, String>(), "x");
        SpecSDK fromBad = new SpecSDK(bad);
        fromBad.SetRequest("{}");
        check("SDKFromRefusedCall", fromBad.Invoke("sync_msg") == -10001 && (Long) get(fromBad, "specSDKptr") == 0);

        // A null map for the answer is replaced; a map already there is filled.
        bad.BuildResponseHeaderBody(null);
        check("ResponseNull", "-10009".equals(bad.GetResponseHeaders().get("ww-exception")) && "".equals(bad.GetResponseBody()));

        check("OpenDebugModeNulls", !SpecUtil.OpenDebugMode(null, null));
        SpecUtil.WWSpecLogInfo((String[]) null);
        SpecUtil.WWSpecLogError("a", null, "b");
        SpecUtil.WWSpecLogDebugWithReqId(null, "x");
        check("LogNulls", true);

        System.out.println(failures == 0 ? "EDGE ok" : "EDGE failed " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static String exception(SpecCallbackSDK cb) {
        cb.BuildResponseHeaderBody("");
        String e = cb.GetResponseHeaders().get("ww-exception");
        return e == null ? "" : e;
    }

    private static void check(String name, boolean ok) {
        System.out.println((ok ? "PASS " : "FAIL ") + name);
        if (!ok) failures++;
    }

    private static void set(Object o, String field, long v) throws Exception {
        Field f = o.getClass().getDeclaredField(field);
        f.setAccessible(true);
        f.setLong(o, v);
    }

    private static Object get(Object o, String field) throws Exception {
        Field f = o.getClass().getDeclaredField(field);
        f.setAccessible(true);
        return f.get(o);
    }
}
