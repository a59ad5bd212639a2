package com.tencent.wework;

// A re-creation of the shape of WeCom's published SpecSDK wrapper, written
// from the description of its surface (not copied): the private fields
// specSDKptr, request and response (the native Invoke writes response by
// reflection), and instance natives NewSDK1..4 and Invoke.
public class SpecSDK {
    private long specSDKptr = 0;
    private String request;
    private String response;

    public SpecSDK(String corpId, long agentId) { specSDKptr = NewSDK1(corpId, agentId); }
    public SpecSDK(String corpId, long agentId, String abilityId) { specSDKptr = NewSDK2(corpId, agentId, abilityId); }
    public SpecSDK(String corpId, long agentId, String abilityId, String jobInfo) { specSDKptr = NewSDK3(corpId, agentId, abilityId, jobInfo); }
    public SpecSDK(SpecCallbackSDK callbackSDK) { specSDKptr = NewSDK4(callbackSDK.GetPtr()); }

    public void SetRequest(String request) { this.request = request; }
    public String GetResponse() { return response; }
    public int Invoke(String apiName) { return Invoke(specSDKptr, apiName, request); }

    private native long NewSDK1(String corpId, long agentId);
    private native long NewSDK2(String corpId, long agentId, String abilityId);
    private native long NewSDK3(String corpId, long agentId, String abilityId, String jobInfo);
    private native long NewSDK4(long callbackSDK);
    private native int Invoke(long sdk, String apiName, String request);

    static {
        System.loadLibrary("WeWorkSpecSDK");
    }
}
