// Package compat checks that an existing, third-party WeCom client library
// works against an OpenZone zone by changing only its base URL: it boots a
// real zone (internal/testenv) and drives it with
// github.com/wenerme/go-wecom, asserting on replies and on WeCom's errcodes
// as the client surfaces them.
//
// It is a module of its own so that the client and its dependencies
// (go-req, pkg/errors, and the many modules go-wecom's go.mod lists) never
// enter the product module's go.mod: github.com/openzone/openzone stays
// free of them, and only this test module pays for them. It has no
// non-test code besides this file.
package compat
