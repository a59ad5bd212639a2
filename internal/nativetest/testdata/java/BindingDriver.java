import com.tencent.wework.SpecCallbackSDK;
import com.tencent.wework.SpecSDK;
import com.tencent.wework.SpecTestHooks;
import com.tencent.wework.SpecUtil;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

// BindingDriver drives the Java binding for internal/nativetest: one
// request per line on standard input, one answer per line on standard
// output. Fields are separated by spaces and hex-encoded UTF-8 ("-" is a
// null reference); the Go test sends the requests and checks the answers,
// so the same table drives the C++ binding (binding_driver.cpp).
public class BindingDriver {
    private static SpecCallbackSDK last;

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ", -1);
            StringBuilder out = new StringBuilder("ok");
            switch (f[0]) {
                case "reset":
                    add(out, SpecTestHooks.reset(s(f[1]), s(f[2]), n(f[3])));
                    break;
                case "seal":
                    add(out, SpecTestHooks.seal(s(f[1]), s(f[2]), s(f[3]), n(f[4]), s(f[5]), n(f[6]), s(f[7]), s(f[8])));
                    break;
                case "open":
                    add(out, SpecTestHooks.open(s(f[1]), s(f[2]), s(f[3]), n(f[4]), s(f[5]), n(f[6]), s(f[7])));
                    break;
                case "call": {
                    last = new SpecCallbackSDK(s(f[1]), headers(f[2]), s(f[3]));
                    add(out, last.IsOk());
                    add(out, last.GetCorpId());
                    add(out, last.GetAgentId());
                    add(out, last.GetCallType());
                    add(out, last.GetData());
                    add(out, last.GetIsAsync());
                    add(out, last.GetJobInfo());
                    add(out, last.GetAbilityId());
                    add(out, last.GetNotifyId());
                    last.BuildResponseHeaderBody(s(f[4]));
                    StringBuilder h = new StringBuilder();
                    for (Map.Entry<String, String> e : last.GetResponseHeaders().entrySet()) {
                        h.append(e.getKey()).append('\0').append(e.getValue()).append('\0');
                    }
                    add(out, h.toString());
                    add(out, last.GetResponseBody());
                    break;
                }
                case "invokecb": {
                    SpecSDK sdk = new SpecSDK(last);
                    invoke(out, sdk, f[1], f[2]);
                    break;
                }
                case "invoke": {
                    SpecSDK sdk;
                    if (f[4].equals("-") && f[3].equals("-")) sdk = new SpecSDK(s(f[1]), n(f[2]));
                    else if (f[4].equals("-")) sdk = new SpecSDK(s(f[1]), n(f[2]), s(f[3]));
                    else sdk = new SpecSDK(s(f[1]), n(f[2]), s(f[3]), s(f[4]));
                    invoke(out, sdk, f[5], f[6]);
                    break;
                }
                case "debug":
                    add(out, SpecUtil.OpenDebugMode(s(f[1]), s(f[2])));
                    break;
                case "notifyid":
                    add(out, SpecUtil.GenerateNotifyId());
                    break;
                case "version":
                    add(out, SpecUtil.GetSDKVersion());
                    break;
                case "log":
                    switch ((int) n(f[1])) {
                        case 0: SpecUtil.WWSpecLogInfoWithReqId(s(f[2]), s(f[3])); break;
                        case 1: SpecUtil.WWSpecLogErrorWithReqId(s(f[2]), s(f[3])); break;
                        default: SpecUtil.WWSpecLogDebugWithReqId(s(f[2]), s(f[3])); break;
                    }
                    break;
                case "live": {
                    last = null;
                    long live = SpecUtil.LiveObjects();
                    // The reaper sweeps when objects are made: make some
                    // until the collected ones are freed.
                    for (int i = 0; i < 200 && live > n(f[1]); i++) {
                        System.gc();
                        for (int j = 0; j < 2000; j++) new SpecSDK("c", 1);
                        Thread.sleep(5);
                        live = SpecUtil.LiveObjects();
                    }
                    add(out, live);
                    break;
                }
                default:
                    out = new StringBuilder("error unknown op " + f[0]);
            }
            System.out.println(out);
            System.out.flush();
        }
    }

    private static void invoke(StringBuilder out, SpecSDK sdk, String api, String request) {
        sdk.SetRequest(s(request));
        int code = sdk.Invoke(s(api));
        add(out, code);
        add(out, sdk.GetResponse());
    }

    private static Map<String, String> headers(String field) {
        String all = s(field);
        if (all == null) return null;
        Map<String, String> m = new LinkedHashMap<>();
        String[] parts = all.split("\0", -1);
        for (int i = 0; i + 1 < parts.length; i += 2) m.put(parts[i], parts[i + 1]);
        return m;
    }

    private static String s(String hex) {
        if (hex.equals("-")) return null;
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static long n(String hex) { return Long.parseLong(s(hex)); }

    private static void add(StringBuilder out, Object v) {
        out.append(' ');
        if (v == null) {
            out.append('-');
            return;
        }
        for (byte c : String.valueOf(v).getBytes(StandardCharsets.UTF_8)) out.append(String.format("%02x", c & 0xff));
    }
}
