package com.tencent.wework;

/**
 * The calling side of a zone program: calls the zone's SDK interfaces
 * (sync_msg, search_msg, spec_notify_app, program_async_job_call_back, …).
 * OpenZone's source of WeCom's class of the same name: the same public
 * methods, private fields and native methods, over OpenZone's
 * libWeWorkSpecSDK.so.
 *
 * <pre>{@code
 * SpecSDK sdk = new SpecSDK(callback);          // act for the call being served
 * sdk.SetRequest("{\"cursor\":\"\",\"limit\":10}");
 * int ret = sdk.Invoke("sync_msg");
 * if (ret == 0) {
 *     String reply = sdk.GetResponse();         // the interface's JSON: check its errcode
 * }
 * }</pre>
 *
 * <p>{@link #Invoke} returns 0 when the call reached the zone and its reply
 * opened, else WeCom's codes: -10001 internal (or this SpecSDK was not
 * initialised), -10002 network, -10003 the zone answered another HTTP status,
 * -10004 the reply does not authenticate, -10005 the reply is not a sealed
 * packet, -10006 not an interface name, -10008 secret version mismatch (in
 * debug mode: open it again), -10009 the request is missing or not JSON. On
 * failure GetResponse() holds {"errcode":&lt;code&gt;,"errmsg":…} saying why.
 *
 * <p>The zone is found from the environment: OPENZONE_API, OPENZONE_PROGRAM_ID
 * and OPENZONE_SECRET, which the zone gives the instances it runs; in debug
 * mode OPENZONE_API and {@link SpecUtil#OpenDebugMode} are enough. The
 * native side writes {@code response} by name: do not rename it.
 */
public class SpecSDK {
    private long specSDKptr = 0;
    private String request;
    private String response;

    /** Acts for corp {@code corpId} and app {@code agentId}. */
    public SpecSDK(String corpId, long agentId) {
        specSDKptr = NewSDK1(corpId, agentId);
    }

    /** Acts for corp {@code corpId}, app {@code agentId} and ability {@code abilityId}. */
    public SpecSDK(String corpId, long agentId, String abilityId) {
        specSDKptr = NewSDK2(corpId, agentId, abilityId);
    }

    /** As above, with the job_info program_async_job_call_back reports an async task with. */
    public SpecSDK(String corpId, long agentId, String abilityId, String jobInfo) {
        specSDKptr = NewSDK3(corpId, agentId, abilityId, jobInfo);
    }

    /**
     * Acts for the call {@code callbackSDK} serves (its corp, app, ability and
     * job_info, and the secret it arrived with); it must be {@code IsOk()}.
     */
    public SpecSDK(SpecCallbackSDK callbackSDK) {
        specSDKptr = NewSDK4(callbackSDK.GetPtr());
    }

    /** Sets the JSON request of the next {@link #Invoke}. */
    public void SetRequest(String request) { this.request = request; }

    /** The reply of the last {@link #Invoke}. */
    public String GetResponse() { return response; }

    /** Calls the SDK interface {@code apiName} with the request set; see the class comment for the codes. */
    public int Invoke(String apiName) {
        return Invoke(specSDKptr, apiName, request);
    }

    private native long NewSDK1(String corpId, long agentId);
    private native long NewSDK2(String corpId, long agentId, String abilityId);
    private native long NewSDK3(String corpId, long agentId, String abilityId, String jobInfo);
    private native long NewSDK4(long callbackSDK);
    private native int Invoke(long sdk, String apiName, String request);

    static {
        System.loadLibrary("WeWorkSpecSDK");
    }
}
