package adminapi

import (
	"net/http"
	"time"

	"github.com/openzone/openzone"
)

// handleCorpAuth: PUT /admin/v1/corps/{corpid}/auth {status, begin_time,
// end_time} sets the corp's authorisation of the zone (授权信息): status 1–7
// as get_corp_auth_info reports it, the period in unix seconds (0: none).
func (a *API) handleCorpAuth(r *http.Request) (any, error) {
	var b struct {
		Status    *int  `json:"status"`
		BeginTime int64 `json:"begin_time"`
		EndTime   int64 `json:"end_time"`
	}
	if err := decodeBody(r, 4<<10, &b, `{"status": 1-7, "begin_time": unix, "end_time": unix}`); err != nil {
		return nil, err
	}
	if b.Status == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required field status")
	}
	corp, err := a.cfg.Store.CorpGet(r.Context(), r.PathValue("corpid"))
	if err != nil {
		return nil, err
	}
	auth := openzone.Auth{Status: *b.Status}
	if b.BeginTime > 0 {
		auth.Begin = time.Unix(b.BeginTime, 0)
	}
	if b.EndTime > 0 {
		auth.End = time.Unix(b.EndTime, 0)
	}
	if err := auth.Check(""); err != nil {
		return nil, err
	}
	corp.Auth = auth
	if err := a.cfg.Store.CorpUpsert(r.Context(), corp); err != nil {
		return nil, err
	}
	return corp, nil
}

// handleMemberEditions: PUT /admin/v1/corps/{corpid}/members/{userid}/editions
// {"editions": [1, 2, 3]} sets the editions (版本) a member is authorised
// for; [] takes the member out of the authorised scope.
func (a *API) handleMemberEditions(r *http.Request) (any, error) {
	var b struct {
		Editions *[]int `json:"editions"`
	}
	if err := decodeBody(r, 4<<10, &b, `{"editions": [1, 2, 3]}`); err != nil {
		return nil, err
	}
	if b.Editions == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required field editions")
	}
	if err := openzone.CheckEditions("editions", *b.Editions); err != nil {
		return nil, err
	}
	corpID, userID := r.PathValue("corpid"), r.PathValue("userid")
	ms, err := a.cfg.Store.MemberList(r.Context(), corpID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.UserID == userID {
			m.Editions = *b.Editions
			if err := a.cfg.Store.MemberUpsert(r.Context(), m); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	return nil, openzone.NotFound.Errorf("member %q of corp %q not found", userID, corpID)
}
