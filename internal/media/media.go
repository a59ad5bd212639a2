// Package media keeps the files apps upload with upload_media (上传临时文件到
// 专区): sealed with the zone's key at rest, usable for three days by zone
// interfaces of the app that uploaded them only, then pruned with the
// other expired rows (store.Prune).
package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/sealbox"
)

// Store is what media needs of the store.
type Store interface {
	MediaInsert(ctx context.Context, m *openzone.Media) error
	MediaGet(ctx context.Context, mediaID string) (*openzone.Media, error)
}

// Config configures the service.
type Config struct {
	Store Store
	// Key is the zone's 32-byte key; media are sealed with a key derived
	// from it.
	Key []byte
	Now func() time.Time
}

// Service stores and opens media.
type Service struct {
	cfg Config
	box *sealbox.Box
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, box: sealbox.New(cfg.Key, "media")}
}

// File is a file to upload.
type File struct {
	CorpID      string
	AgentID     int64 // 0: the corp admin
	Filename    string
	ContentType string
	Data        []byte
}

// Put checks a file against upload_media's limits and stores it sealed.
func (s *Service) Put(ctx context.Context, f File) (*openzone.Media, error) {
	if n := len(f.Data); n < openzone.MediaMinBytes || n > openzone.MediaMaxBytes {
		return nil, openzone.Errorf(openzone.ErrBadFileSize, "media: the file is %d bytes; upload_media takes %d bytes to %d MB", n, openzone.MediaMinBytes, openzone.MediaMaxBytes>>20)
	}
	var b [16]byte
	rand.Read(b[:])
	now := s.cfg.Now()
	m := &openzone.Media{MediaID: "ozm_" + hex.EncodeToString(b[:]), CorpID: f.CorpID, AgentID: f.AgentID,
		Filename: f.Filename, ContentType: f.ContentType, Size: int64(len(f.Data)), CreatedAt: now, ExpiresAt: now.Add(openzone.MediaTTL)}
	m.Data = s.box.Seal(m.MediaID, f.Data)
	if err := s.cfg.Store.MediaInsert(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Open returns a file's content for the app (corpID, agentID) that
// uploaded it: another app's, an expired or an unknown media_id are
// 40007 alike (the caller learns nothing of other apps' files).
func (s *Service) Open(ctx context.Context, corpID string, agentID int64, mediaID string) (*openzone.Media, []byte, error) {
	bad := openzone.Errorf(openzone.ErrBadMediaID, "invalid media_id %q: unknown, expired (media are valid %s), or uploaded by another app", mediaID, openzone.MediaTTL)
	m, err := s.cfg.Store.MediaGet(ctx, mediaID)
	if openzone.IsNotFound(err) {
		return nil, nil, bad
	}
	if err != nil {
		return nil, nil, err
	}
	if m.CorpID != corpID || m.AgentID != agentID || !s.cfg.Now().Before(m.ExpiresAt) {
		return nil, nil, bad
	}
	data, err := s.box.Open(m.MediaID, m.Data)
	if err != nil {
		return nil, nil, err
	}
	return m, data, nil
}

// FromRequest reads the file of an upload_media request: the part named
// "media" of a multipart/form-data body, at most MediaMaxBytes. Its
// CorpID and AgentID are the caller's to fill. w lets an over-long body
// close the connection (nil: it is only cut).
func FromRequest(w http.ResponseWriter, r *http.Request) (File, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		return File{}, openzone.Errorf(openzone.ErrMissingMedia, "the body must be multipart/form-data with the file in a part named \"media\"")
	}
	// The file plus room for the multipart framing.
	r.Body = http.MaxBytesReader(w, r.Body, openzone.MediaMaxBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return File{}, openzone.Errorf(openzone.ErrMissingMedia, "the body is not readable multipart/form-data")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return File{}, openzone.Errorf(openzone.ErrMissingMedia, "the body has no part named \"media\" holding the file")
		}
		if err != nil {
			return File{}, readErr(err)
		}
		if part.FormName() != "media" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, openzone.MediaMaxBytes+1))
		if err != nil {
			return File{}, readErr(err)
		}
		if len(data) > openzone.MediaMaxBytes {
			return File{}, readErr(&http.MaxBytesError{Limit: openzone.MediaMaxBytes})
		}
		return File{Filename: part.FileName(), ContentType: part.Header.Get("Content-Type"), Data: data}, nil
	}
}

func readErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return openzone.Errorf(openzone.ErrBadFileSize, "the file is over %d MB", openzone.MediaMaxBytes>>20)
	}
	return openzone.Errorf(openzone.ErrMissingMedia, "the multipart body is damaged or cut short")
}
