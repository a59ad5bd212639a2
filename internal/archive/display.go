package archive

import (
	"context"
	"encoding/json"

	"github.com/openzone/openzone"
)

// Find is the message whose secret_key is key and whose msgid is msgID:
// one indexed lookup by the key's tag (the key proves which message, in
// whichever corp), then the content opened with the key itself. nil when
// there is none or the key does not open it (the display page answers both
// alike).
func (s *Service) Find(ctx context.Context, msgID, key string) (*openzone.Message, json.RawMessage) {
	k, ok := parseSecretKey(key)
	if msgID == "" || !ok {
		return nil, nil
	}
	m, err := s.cfg.Store.MessageGetByKeyTag(ctx, keyTag(s.cfg.Key, k), msgID)
	if err != nil {
		if !openzone.IsNotFound(err) {
			s.cfg.Logger.Error("display: message lookup", "err", err)
		}
		return nil, nil
	}
	content, err := s.Content(m, key)
	if err != nil {
		return nil, nil
	}
	return m, content
}
