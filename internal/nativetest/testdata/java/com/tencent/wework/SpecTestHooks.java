package com.tencent.wework;

/**
 * The test hooks of a libWeWorkSpecSDK.so built with the tag wwspectest:
 * the packet layer and the clock, for the protocol's test vectors and the
 * seal+open benchmark. Not part of the SDK.
 */
public final class SpecTestHooks {
    private SpecTestHooks() {}

    /** Replaces the process's SDK: program id, secret ("ver:base64", "" for none), clock (unix seconds, 0 real). */
    public static native boolean reset(String programId, String secret, long now);

    /** Seals plaintext; nonceHex "" for a random nonce. Returns the body, "" for bad arguments. */
    public static native String seal(String secret, String purpose, String programId, long ver, String requestId, long timestamp, String nonceHex, String plaintext);

    /** Opens body: "OK:" + plaintext, or "EXC:" + the exception code. */
    public static native String open(String secret, String purpose, String programId, long ver, String requestId, long timestamp, String body);

    static {
        System.loadLibrary("WeWorkSpecSDK");
    }
}
