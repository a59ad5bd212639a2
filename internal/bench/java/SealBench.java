import com.tencent.wework.SpecTestHooks;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

// SealBench measures, in the JVM, one packet sealed and opened through the
// Java binding of libWeWorkSpecSDK.so (SpecTestHooks.seal/open: a Java
// String in, JNI, zonewire, a Java String out) against the JDK's own
// AES-256-GCM on the same bytes (javax.crypto, pre-built key, the
// protocol's AAD), and against that with the sealed bytes through
// java.util.Base64 as protocol v2 sends them. Best of interleaved rounds, MB/s
// of plaintext; one JSON object on standard output. Usage: SealBench
// <rounds> <seconds per round>.
public class SealBench {
    interface Op { void run() throws Exception; }

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        double roundSeconds = Double.parseDouble(args[1]);
        SecureRandom rnd = new SecureRandom();
        byte[] keyBytes = new byte[32];
        rnd.nextBytes(keyBytes);
        final String secret = "1:" + Base64.getEncoder().encodeToString(keyBytes);
        final SecretKeySpec key = new SecretKeySpec(keyBytes, "AES");
        final String reqId = "0123456789abcdef0123456789abcdef";
        final long ts = 1767225600L;
        final byte[] aad = ("openzone/v2\0call\0prog-echo\0001\0" + reqId + "\0" + ts).getBytes(StandardCharsets.UTF_8);
        final Cipher enc = Cipher.getInstance("AES/GCM/NoPadding"), dec = Cipher.getInstance("AES/GCM/NoPadding");
        final byte[] nonce = new byte[12];
        StringBuilder out = new StringBuilder("{\"java\":\"" + System.getProperty("java.version") + "\"");
        for (final int size : new int[] {1 << 10, 64 << 10}) {
            char[] cs = new char[size];
            for (int i = 0; i < size; i++) cs[i] = (char) ('a' + rnd.nextInt(26));
            final String pt = new String(cs);
            final byte[] ptBytes = pt.getBytes(StandardCharsets.UTF_8);
            Map<String, Op> ops = new LinkedHashMap<>();
            // The JDK refuses a nonce twice under one key for encryption: count.
            ops.put("raw", () -> {
                bump(nonce);
                GCMParameterSpec spec = new GCMParameterSpec(128, nonce);
                enc.init(Cipher.ENCRYPT_MODE, key, spec);
                enc.updateAAD(aad);
                byte[] ct = enc.doFinal(ptBytes);
                dec.init(Cipher.DECRYPT_MODE, key, spec);
                dec.updateAAD(aad);
                if (dec.doFinal(ct).length != size) throw new IllegalStateException("raw");
            });
            ops.put("raw-b64", () -> {
                bump(nonce);
                GCMParameterSpec spec = new GCMParameterSpec(128, nonce);
                enc.init(Cipher.ENCRYPT_MODE, key, spec);
                enc.updateAAD(aad);
                byte[] ct = enc.doFinal(ptBytes);
                String body = Base64.getEncoder().encodeToString(ct);
                dec.init(Cipher.DECRYPT_MODE, key, spec);
                dec.updateAAD(aad);
                if (dec.doFinal(Base64.getDecoder().decode(body)).length != size) throw new IllegalStateException("raw-b64");
            });
            ops.put("sdk", () -> {
                String body = SpecTestHooks.seal(secret, "call", "prog-echo", 1, reqId, ts, "", pt);
                String opened = SpecTestHooks.open(secret, "call", "prog-echo", 1, reqId, ts, body);
                if (opened.length() != size + 3) throw new IllegalStateException("sdk: " + opened.substring(0, Math.min(20, opened.length())));
            });
            Map<String, Double> best = new LinkedHashMap<>();
            for (int r = 0; r < rounds; r++) {
                for (Map.Entry<String, Op> e : ops.entrySet()) {
                    long n = 0, start = System.nanoTime(), end = start + (long) (roundSeconds * 1e9);
                    while (System.nanoTime() < end) {
                        for (int k = 0; k < 8; k++) e.getValue().run();
                        n += 8;
                    }
                    double mbs = (double) n * size / ((System.nanoTime() - start) / 1e9) / 1e6;
                    best.merge(e.getKey(), mbs, Math::max);
                }
            }
            for (Map.Entry<String, Double> e : best.entrySet()) {
                out.append(String.format(",\"%s %d KB\":%.1f", e.getKey(), size >> 10, e.getValue()));
            }
        }
        System.out.println(out.append('}'));
    }

    static void bump(byte[] nonce) {
        for (int i = nonce.length - 1; i >= 0 && ++nonce[i] == 0; i--) {}
    }
}
