package appapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/media"
)

// Media stores uploaded files (media.Service).
type Media interface {
	Put(ctx context.Context, f media.File) (*openzone.Media, error)
}

type uploadReply struct {
	openzone.Base
	Type      string `json:"type"`
	MediaID   string `json:"media_id"`
	CreatedAt string `json:"created_at"`
}

// handleUploadMedia serves upload_media?type=file (上传临时文件到专区): a
// multipart/form-data body whose part "media" is the file (6 B to 60 MB).
// The media_id is valid 3 days, for this app's zone interfaces only.
func (a *API) handleUploadMedia(w http.ResponseWriter, r *http.Request) {
	a.serveApp(w, r, func(app *openzone.App) (openzone.Reply, error) { return a.uploadMedia(w, r, app) })
}

func (a *API) uploadMedia(w http.ResponseWriter, r *http.Request, app *openzone.App) (openzone.Reply, error) {
	if t := r.URL.Query().Get("type"); t != "file" {
		return nil, openzone.Errorf(openzone.ErrBadMediaType, "type must be \"file\", got %q", t)
	}
	f, err := media.FromRequest(w, r)
	if err != nil {
		return nil, err
	}
	f.CorpID, f.AgentID = app.CorpID, app.AgentID
	m, err := a.cfg.Media.Put(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return &uploadReply{Base: openzone.OK, Type: "file", MediaID: m.MediaID, CreatedAt: strconv.FormatInt(m.CreatedAt.Unix(), 10)}, nil
}
