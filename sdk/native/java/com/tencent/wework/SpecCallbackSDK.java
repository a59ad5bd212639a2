package com.tencent.wework;

import java.util.HashMap;
import java.util.Map;

/**
 * The receiving side of a zone program: one call from the zone (an app's
 * call of an ability, or an event), opened and checked, and the sealed answer
 * to it. OpenZone's source of WeCom's class of the same name: the same public
 * methods, private fields and native methods, over OpenZone's
 * libWeWorkSpecSDK.so.
 *
 * <p>Make one per request:
 * <pre>{@code
 * SpecCallbackSDK callback = new SpecCallbackSDK("POST", headers, body);
 * String response = "";
 * if (callback.IsOk()) {
 *     response = handle(callback.GetCallType(), callback.GetAbilityId(), callback.GetData());
 * }
 * callback.BuildResponseHeaderBody(response);   // "" when !IsOk(): answers with ww-exception
 * // send status 200, callback.GetResponseHeaders() and callback.GetResponseBody()
 * }</pre>
 *
 * <p>headers may name the ww-* headers in any letter case. A request that
 * cannot be opened (missing or malformed headers, a body that does not
 * authenticate, a stale or replayed request) gives {@code IsOk() == false},
 * never an exception; the reason is logged. Constructor failures are logged
 * with WeCom's codes: -20001 no method, -20002 no headers, -20003 no body.
 *
 * <p>The native side writes {@code responseHeaders} and {@code responseBody}
 * by name: do not rename them. The native object behind {@code GetPtr()} is
 * freed when this object is garbage collected.
 */
public class SpecCallbackSDK {
    private long specCallbackSDKptr = 0;
    private Map<String, String> responseHeaders;
    private String responseBody;

    /**
     * Opens a call from the zone.
     *
     * @param method  the HTTP method ("POST")
     * @param headers the request headers, at least ww-secret-ver, ww-request-id and ww-timestamp
     * @param body    the request body as text (one line of base64)
     */
    public SpecCallbackSDK(String method, Map<String, String> headers, String body) {
        specCallbackSDKptr = NewCallbackSDK(method, headers, body);
    }

    /** The handle of the native object, for {@link SpecSDK#SpecSDK(SpecCallbackSDK)}. */
    public long GetPtr() { return specCallbackSDKptr; }

    /** Whether the call was opened; call the getters only when it was. */
    public boolean IsOk() { return IsOk(specCallbackSDKptr); }

    /** The corp the call concerns. */
    public String GetCorpId() { return GetCorpId(specCallbackSDKptr); }

    /** The calling app's agentid (0 when there is no app identity). */
    public long GetAgentId() { return GetAgentId(specCallbackSDKptr); }

    /**
     * 1: an app called an ability; 2: an event. (OpenZone's pre-flight probe of
     * a debug receiver comes as an app's call of no ability: answer it as an
     * unknown one.)
     */
    public long GetCallType() { return GetCallType(specCallbackSDKptr); }

    /** call_type 1: the app's request_data; call_type 2: the event JSON. */
    public String GetData() { return GetData(specCallbackSDKptr); }

    /** Whether the app called asynchronously: answer at once, report with program_async_job_call_back. */
    public boolean GetIsAsync() { return GetIsAsync(specCallbackSDKptr); }

    /** The async task's context; a SpecSDK made from this callback passes it on. */
    public String GetJobInfo() { return GetJobInfo(specCallbackSDKptr); }

    /** The ability the app called. */
    public String GetAbilityId() { return GetAbilityId(specCallbackSDKptr); }

    /** The notify_id the app passed to sync_call_program, if any. */
    public String GetNotifyId() { return GetNotifyId(specCallbackSDKptr); }

    /**
     * Seals {@code response} as the answer and sets the response headers and
     * body. When {@code IsOk()} is false, pass "": the answer then carries the
     * ww-exception header and an empty body.
     */
    public void BuildResponseHeaderBody(String response) {
        responseHeaders = new HashMap<String, String>();
        responseBody = "";
        BuildResponseHeaderBody(specCallbackSDKptr, response);
    }

    /** The headers of the answer, after {@link #BuildResponseHeaderBody}. */
    public Map<String, String> GetResponseHeaders() { return responseHeaders; }

    /** The sealed body of the answer, after {@link #BuildResponseHeaderBody}. */
    public String GetResponseBody() { return responseBody; }

    private native long NewCallbackSDK(String method, Map<String, String> headers, String body);
    private native boolean IsOk(long specCallbackSDKptr);
    private native String GetCorpId(long specCallbackSDKptr);
    private native long GetAgentId(long specCallbackSDKptr);
    private native long GetCallType(long specCallbackSDKptr);
    private native String GetData(long specCallbackSDKptr);
    private native boolean GetIsAsync(long specCallbackSDKptr);
    private native String GetJobInfo(long specCallbackSDKptr);
    private native String GetAbilityId(long specCallbackSDKptr);
    private native String GetNotifyId(long specCallbackSDKptr);
    private native void BuildResponseHeaderBody(long specCallbackSDKptr, String response);

    static {
        System.loadLibrary("WeWorkSpecSDK");
    }
}
