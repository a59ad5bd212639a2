package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/openzone/openzone/internal/listener/frame"
)

// relayPath is where a node asks another to run a delivery on the debug
// listener it holds. It takes the admin token, which nodes share.
const relayPath = "/admin/v1/internal/listener-relay"

type relayRequest struct {
	ProgramID string         `json:"program_id"`
	Gate      bool           `json:"gate"`
	Message   *frame.Message `json:"message"`
}

type relayReply struct {
	Answer *frame.Message `json:"answer,omitempty"`
	Error  string         `json:"error,omitempty"` // closed | lost | busy | other
	Detail string         `json:"detail,omitempty"`
}

// relay is the gateway's RelayFunc: it posts m to the node holding the
// listener and maps its answer back to the listener's errors.
func (s *Server) relay(ctx context.Context, node, programID string, gate bool, m *frame.Message) (*frame.Message, error) {
	url, err := s.cluster.NodeURL(ctx, node, time.Now().Add(-s.instanceStale()))
	if err != nil {
		return nil, fmt.Errorf("%w: zone node %s is not reachable: %v", frame.ErrClosed, node, err)
	}
	body, err := json.Marshal(relayRequest{ProgramID: programID, Gate: gate, Message: m})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+relayPath, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", frame.ErrClosed, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: zone node %s: %v", frame.ErrClosed, node, err)
	}
	defer resp.Body.Close()
	var rep relayReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: zone node %s answered HTTP %d", frame.ErrLost, node, resp.StatusCode)
	}
	switch rep.Error {
	case "":
		return rep.Answer, nil
	case "closed":
		return nil, fmt.Errorf("%w: %s", frame.ErrClosed, rep.Detail)
	case "lost":
		return nil, fmt.Errorf("%w: %s", frame.ErrLost, rep.Detail)
	case "busy":
		return nil, frame.ErrNotReady
	}
	return nil, errors.New(rep.Detail)
}

// handleRelay runs another node's delivery on a listener this node holds.
func (s *Server) handleRelay(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.token)) != 1 {
		http.Error(w, `{"errcode":40014,"errmsg":"invalid admin token"}`, http.StatusUnauthorized)
		return
	}
	var req relayRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 32<<20)).Decode(&req); err != nil || req.Message == nil {
		http.Error(w, `{"errcode":40058,"errmsg":"bad relay request"}`, http.StatusBadRequest)
		return
	}
	ans, err := s.gateway.Relayed(r.Context(), req.ProgramID, req.Gate, req.Message)
	rep := relayReply{Answer: ans}
	switch {
	case err == nil:
	case errors.Is(err, frame.ErrNotReady):
		rep.Error = "busy"
	case errors.Is(err, frame.ErrClosed):
		rep.Error, rep.Detail = "closed", err.Error()
	case errors.Is(err, frame.ErrLost):
		rep.Error, rep.Detail = "lost", err.Error()
	default:
		rep.Error, rep.Detail = "other", err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rep)
}
