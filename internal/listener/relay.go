package listener

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/listener/frame"
)

// A program's listener is connected to one zone node; a delivery made on
// another node is relayed to it (docs/decisions.md, "Debug listener").

// RelayPath is where a node asks another to run a delivery on the debug
// listener it holds. It takes the admin token, which nodes share.
const RelayPath = "/admin/v1/internal/listener-relay"

// maxRelayBytes bounds a relayed message either way.
const maxRelayBytes = 32 << 20

// RelayRequest is a relayed delivery.
type RelayRequest struct {
	ProgramID string         `json:"program_id"`
	Gate      bool           `json:"gate"`
	Message   *frame.Message `json:"message"`
}

// RelayReply is the holding node's answer.
type RelayReply struct {
	Answer *frame.Message `json:"answer,omitempty"`
	Error  string         `json:"error,omitempty"` // closed | lost | busy | other
	Detail string         `json:"detail,omitempty"`
}

// DecodeRelay reads a relayed delivery (the holding node's face calls it).
func DecodeRelay(r io.Reader) (*RelayRequest, error) {
	var req RelayRequest
	if err := json.NewDecoder(io.LimitReader(r, maxRelayBytes)).Decode(&req); err != nil || req.Message == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "bad relay request")
	}
	return &req, nil
}

// Relayed runs a delivery another node relayed on this node's listener of
// the program: the receiving half of the relay. Its answer, or its
// failure, is the reply.
func (h *Hub) Relayed(ctx context.Context, req *RelayRequest) *RelayReply {
	ans, err := h.local(ctx, req.ProgramID, req.Gate, req.Message)
	rep := &RelayReply{Answer: ans}
	switch {
	case err == nil:
	case errors.Is(err, ErrNotReady):
		rep.Error = "busy"
	case errors.Is(err, ErrClosed):
		rep.Error, rep.Detail = "closed", err.Error()
	case errors.Is(err, ErrLost):
		rep.Error, rep.Detail = "lost", err.Error()
	default:
		rep.Error, rep.Detail = "other", err.Error()
	}
	return rep
}

// local runs m on this node's listener of programID.
func (h *Hub) local(ctx context.Context, programID string, gate bool, m *frame.Message) (*frame.Message, error) {
	conn := h.Get(programID)
	if conn == nil {
		return nil, fmt.Errorf("%w: no listener of program %q on this node", ErrClosed, programID)
	}
	if gate && !conn.Ready() {
		return nil, ErrNotReady
	}
	return conn.RoundTrip(ctx, m)
}

// relay posts m to the node holding the listener and maps its answer back
// to the listener's errors: the sending half of the relay.
func (h *Hub) relay(ctx context.Context, node, programID string, gate bool, m *frame.Message) (*frame.Message, error) {
	url, err := h.cfg.Nodes.NodeURL(ctx, node)
	if err != nil {
		return nil, fmt.Errorf("%w: zone node %s is not reachable: %v", ErrClosed, node, err)
	}
	body, err := json.Marshal(RelayRequest{ProgramID: programID, Gate: gate, Message: m})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+RelayPath, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrClosed, err)
	}
	req.Header.Set("Authorization", "Bearer "+h.cfg.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: zone node %s: %v", ErrClosed, node, err)
	}
	defer resp.Body.Close()
	var rep RelayReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRelayBytes)).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: zone node %s answered HTTP %d", ErrLost, node, resp.StatusCode)
	}
	switch rep.Error {
	case "":
		return rep.Answer, nil
	case "closed":
		return nil, fmt.Errorf("%w: %s", ErrClosed, rep.Detail)
	case "lost":
		return nil, fmt.Errorf("%w: %s", ErrLost, rep.Detail)
	case "busy":
		return nil, ErrNotReady
	}
	return nil, errors.New(rep.Detail)
}
