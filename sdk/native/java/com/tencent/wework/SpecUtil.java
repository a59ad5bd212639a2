package com.tencent.wework;

/**
 * Debug mode, notify ids and logging for zone programs: OpenZone's SpecUtil,
 * with the methods WeCom documents for its own.
 *
 * <p>Log lines go to standard error, which the zone keeps with each instance
 * it runs, in WeCom's format {@code <pid,tid>,datetime,level,req_id,file,line,text}
 * (levels INFO, ERR, DBG; file and line are the caller's). Unlike WeCom's
 * SDK, OpenZone does not cut the text at 128 bytes.
 */
public final class SpecUtil {
    private SpecUtil() {}

    /**
     * Opens the SDK half of debug mode (开启调试模式) on a developer's machine:
     * the program's debug credential (调试凭证, from its debug page) and the
     * access_token of the app to debug are all it needs, the credential naming
     * the program. The zone is the one OPENZONE_API names.
     * Debug mode is on once the app has also called open_debug_mode. Returns
     * whether the zone accepted; the reason of a refusal is logged (never the
     * tokens).
     */
    public static boolean OpenDebugMode(String debugToken, String accessToken) {
        return nativeOpenDebugMode(debugToken, accessToken);
    }

    /** A fresh notify_id for spec_notify_app. */
    public static String GenerateNotifyId() { return nativeGenerateNotifyId(); }

    /** The SDK's version. */
    public static String GetSDKVersion() { return nativeGetSDKVersion(); }

    /** Logs the arguments, joined by spaces, at INFO. */
    public static void WWSpecLogInfo(String... args) { log(0, "", args); }

    /** Logs the arguments, joined by spaces, at ERR. */
    public static void WWSpecLogError(String... args) { log(1, "", args); }

    /** Logs the arguments, joined by spaces, at DBG. */
    public static void WWSpecLogDebug(String... args) { log(2, "", args); }

    /** Logs at INFO with the request id {@code reqId} (a call's ww-request-id, say). */
    public static void WWSpecLogInfoWithReqId(String reqId, String... args) { log(0, reqId, args); }

    /** Logs at ERR with the request id {@code reqId}. */
    public static void WWSpecLogErrorWithReqId(String reqId, String... args) { log(1, reqId, args); }

    /** Logs at DBG with the request id {@code reqId}. */
    public static void WWSpecLogDebugWithReqId(String reqId, String... args) { log(2, reqId, args); }

    /**
     * The number of native objects (SpecCallbackSDK and SpecSDK) alive in the
     * library: they are freed once their Java objects are collected. For
     * monitoring and tests.
     */
    public static long LiveObjects() { return nativeLiveObjects(); }

    private static void log(int level, String reqId, String[] args) {
        StringBuilder text = new StringBuilder();
        if (args != null) {
            for (String a : args) {
                if (text.length() > 0) text.append(' ');
                text.append(a);
            }
        }
        StackTraceElement caller = callerFrame();
        String file = caller == null || caller.getFileName() == null ? "" : caller.getFileName();
        int line = caller == null ? 0 : caller.getLineNumber();
        nativeLog(level, reqId == null ? "" : reqId, file, line, text.toString());
    }

    // callerFrame returns the first frame outside this class.
    private static StackTraceElement callerFrame() {
        StackTraceElement[] stack = new Throwable().getStackTrace();
        for (StackTraceElement e : stack) {
            if (!e.getClassName().equals(SpecUtil.class.getName())) return e;
        }
        return null;
    }

    private static native boolean nativeOpenDebugMode(String debugToken, String accessToken);
    private static native String nativeGenerateNotifyId();
    private static native String nativeGetSDKVersion();
    private static native void nativeLog(int level, String reqId, String file, int line, String text);
    private static native long nativeLiveObjects();

    static {
        System.loadLibrary("WeWorkSpecSDK");
    }
}
