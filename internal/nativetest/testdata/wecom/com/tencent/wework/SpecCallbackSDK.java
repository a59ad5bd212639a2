package com.tencent.wework;

import java.util.HashMap;
import java.util.Map;

// A re-creation of the shape of WeCom's published SpecCallbackSDK wrapper,
// written from the description of its surface (not copied): the private
// fields the native side fills by reflection, instance natives taking the
// handle, a constructor that catches and prints exceptions, and a
// BuildResponseHeaderBody that sets a fresh map and an empty body before the
// native call. The tests run the library under it to show that WeCom's
// wrappers work unchanged.
public class SpecCallbackSDK {
    private long specCallbackSDKptr = 0;
    private Map<String, String> responseHeaders;
    private String responseBody;

    public SpecCallbackSDK(String method, Map<String, String> headers, String body) {
        try {
            specCallbackSDKptr = NewCallbackSDK(method, headers, body);
        } catch (Exception e) {
            e.printStackTrace();
        }
    }

    public long GetPtr() { return specCallbackSDKptr; }
    public Map<String, String> GetResponseHeaders() { return responseHeaders; }
    public String GetResponseBody() { return responseBody; }
    public boolean IsOk() { return IsOk(specCallbackSDKptr); }
    public String GetCorpId() { return GetCorpId(specCallbackSDKptr); }
    public long GetAgentId() { return GetAgentId(specCallbackSDKptr); }
    public long GetCallType() { return GetCallType(specCallbackSDKptr); }
    public String GetData() { return GetData(specCallbackSDKptr); }
    public boolean GetIsAsync() { return GetIsAsync(specCallbackSDKptr); }
    public String GetJobInfo() { return GetJobInfo(specCallbackSDKptr); }
    public String GetAbilityId() { return GetAbilityId(specCallbackSDKptr); }
    public String GetNotifyId() { return GetNotifyId(specCallbackSDKptr); }

    public void BuildResponseHeaderBody(String response) {
        try {
            responseHeaders = new HashMap<String, String>();
            responseBody = "";
            BuildResponseHeaderBody(specCallbackSDKptr, response);
        } catch (Exception e) {
            e.printStackTrace();
        }
    }

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
