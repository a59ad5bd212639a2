// Package zonesdk is the program side of an OpenZone data & intelligence zone
// (数据与智能专区): everything a zone program (专区程序) needs to answer the
// zone's calls and to call the zone's SDK interfaces (专区请求企微后台). It is
// the Go counterpart of WeCom's closed Python, C++ and Java zone SDKs, and it
// imports only the standard library.
//
// # How a program talks to the zone
//
// The zone calls a program with an HTTP POST to its root path (WeCom programs
// listen on 0.0.0.0:8080; see [Addr]). The body is sealed with the program
// secret (package zonewire) and carries a call: call_type 1 is an app's call
// of one of the program's abilities (sync_call_program or
// async_program_task), call_type 2 is an event (conversation_new_message,
// hit_keyword, …). A [Program] is the [net/http.Handler] that opens those
// calls, dispatches them to the handlers registered with [Program.Handle] and
// [Program.HandleEvent], and seals the reply.
//
// The program calls back into the zone with [Program.Invoke]: sync_msg,
// search_msg, spec_notify_app, program_async_job_call_back and the other SDK
// interfaces. Each invoke is sealed too, and carries the context of the call
// it was made for (corpid, agentid, ability_id and, for
// program_async_job_call_back only, job_info).
//
// # Walkthrough
//
// A deployed program gets its configuration from the environment
// (OPENZONE_API, OPENZONE_PROGRAM_ID, OPENZONE_SECRET and PORT):
//
//	cfg, err := zonesdk.ConfigFromEnv()
//	if err != nil {
//		log.Fatal(err)
//	}
//	p, err := zonesdk.New(cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//
// Register one handler per ability. A handler gets the decoded call and
// returns the response data, a JSON string that the app receives as
// response_data:
//
//	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) {
//		return req.Data, nil
//	})
//
// Inside a handler, ctx carries the call, so [Program.Invoke] acts for the
// same corp, app and ability without being told:
//
//	p.Handle("invoke_sync_msg", func(ctx context.Context, req *zonesdk.Request) (string, error) {
//		reply, err := p.Invoke(ctx, "sync_msg", req.Data)
//		if err != nil {
//			return "", err
//		}
//		return string(reply), nil
//	})
//
// The reply of an SDK interface is its JSON object, with its own errcode and
// errmsg ([Errcode] reads them); an [*InvokeError] means the invoke itself
// failed, with one of WeCom's Invoke codes (−10001 … −10009).
//
// An async call (Request.IsAsync) must be acknowledged at once; the result
// is reported later with program_async_job_call_back, whose job_info the SDK
// takes from the call. Use [Detach] so the work outlives the HTTP exchange:
//
//	p.Handle("summarise", func(ctx context.Context, req *zonesdk.Request) (string, error) {
//		if !req.IsAsync {
//			return summarise(req.Data), nil
//		}
//		ctx = zonesdk.Detach(ctx)
//		go func() {
//			p.Invoke(ctx, zonesdk.AsyncJobCallback, map[string]any{
//				"errcode": 0, "result": summarise(req.Data),
//			})
//		}()
//		return "{}", nil
//	})
//
// Events arrive at the handler given to [Program.HandleEvent]; Request.Data
// is the event JSON. Abilities without a handler of their own go to the
// handler given to [Program.HandleFallback], if any, which may refuse one
// with [ErrUnknownAbility]. Finally, serve:
//
//	log.Fatal(http.ListenAndServe(zonesdk.Addr(), p))
//
// Outside a call (a background job, a command-line tool) give the invoke
// context explicitly with [WithInvokeContext], the equivalent of WeCom's
// SpecSDK(corpid, agentid, ability_id, job_info) constructor.
//
// # Logs
//
// [Program.Logf] is WeCom's spec_log_info and its twins: it writes one
// line in WeCom's format, <pid,tid>,datetime,level,req_id,file,line,text,
// to Config.LogOutput (standard output by default) and sends it to the
// zone, sealed, in batches (docs/protocol.md §16). req_id is the request id
// of the call ctx carries, so the zone's traffic inspector links the call
// to its lines; the zone keeps lines within the program's log level, which
// an app sets with set_log_level (default [LogInfo]):
//
//	p.Logf(ctx, zonesdk.LogInfo, "stored event under notify_id %s", notifyID)
//
// Lines are sent every second from a goroutine; call [Program.Close]
// before the process exits so the last ones are not lost.
//
// # Debug mode
//
// In debug mode (调试模式) a program runs on a developer's machine and the
// zone forwards that app's calls and events to it (its receiver URL, 接收事件服务器).
// Such a program never holds the production secret: give it no
// Config.Secret, and open the SDK half of debug mode with the program's
// debug credential (调试凭证) and the app's access_token once it listens:
//
//	p, err := zonesdk.New(zonesdk.Config{ZoneURL: zoneURL, ProgramID: "prog-echo"})
//	…
//	go http.Serve(ln, p)
//	s, err := p.OpenDebugMode(ctx, debugToken, accessToken)
//	var ze *zonesdk.ZoneError
//	if errors.As(err, &ze) {
//		log.Fatalf("zone refused debug mode: errcode %d: %s", ze.Errcode, ze.Errmsg)
//	}
//
// The zone answers with a debug secret bound to the app's corp and agentid
// (docs/protocol.md §15). A Program holds any number of secrets by version
// (ww-secret-ver): its production secret, if any, and one debug secret per
// corp and app, each replaced when debug mode is opened again for that corp
// and app ([Program.DebugSessions] lists them). A call opens with the
// secret its version names and is answered with the same (Request.SecretVer
// says which). An invoke made for a call uses the call's secret; other
// invokes use the debug secret of their invoke context's corp and app,
// else the production secret, else fail with −10008.
//
// # Failures the zone sees
//
// A call that cannot be opened (missing or malformed ww-* headers, wrong
// secret version, tampered body, stale timestamp, replayed request id) is
// answered with HTTP 200, an empty body and a ww-exception header holding
// the zonewire exception code; the zone reports it to the app as 710677.
// A call under a secret version the Program does not hold (a replaced
// debug secret, a rotated production secret, no production secret) gets
// −10008; a call sealed with the debug secret of one corp and app but
// addressed to another gets −10004, as if it did not authenticate (an
// honest zone never sends one). A
// call of an unknown ability (or one a handler refuses with
// [ErrUnknownAbility]) is answered 404, and a handler error or panic 500;
// the zone reports both as 710676.
package zonesdk
