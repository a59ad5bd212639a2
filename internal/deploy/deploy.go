// Package deploy applies what a zone is told to be: a seed file (all of it
// or nothing, idempotently) or one program from the admin API, stored in
// one transaction; then it makes the supervisor run what the stored
// deployments say.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/seed"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/supervisor"
)

// Summary says what applying a seed file did.
type Summary struct {
	Providers int `json:"providers"`
	Corps     int `json:"corps"`
	Programs  int `json:"programs"`
	Apps      int `json:"apps"`
}

// Config configures a Service.
type Config struct {
	Store      store.Store
	Supervisor *supervisor.Supervisor
	// Keys drops a program's cached packet keys after its secret changed
	// (gateway).
	Keys interface{ Forget(programID string) }
	// Apps drops the call path's cached rows after apps or programs
	// changed (apps.Service).
	Apps interface{ Invalidate() }
	// Archive archives a seed file's messages.
	Archive *archive.Service
	// Sandbox decides how instances run on this host and unpacks images
	// (internal/sandbox).
	Sandbox *sandbox.Manager
	// Dir is the working directory of supervised instances (the data
	// directory).
	Dir string
	// MaxInstances bounds the processes the zone runs for all its
	// programs together (each node runs them all); default 256. A seed
	// file or program that would take the zone past it is refused whole.
	MaxInstances int
	Now          func() time.Time
	Logger       *slog.Logger
}

// Service applies seed files and programs.
type Service struct{ cfg Config }

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = DefaultMaxInstances
	}
	return &Service{cfg: cfg}
}

// DefaultMaxInstances is the default of Config.MaxInstances.
const DefaultMaxInstances = 256

// checkInstances refuses programs that would make the zone run more than
// MaxInstances processes, counting what tx holds with progs replacing
// their stored versions.
func (s *Service) checkInstances(ctx context.Context, tx store.Executor, progs []openzone.Program) error {
	total := map[string]int{}
	stored, err := tx.ProgramList(ctx)
	if err != nil {
		return err
	}
	for _, p := range stored {
		total[p.ID] = p.Deploy.Instances
	}
	for i := range progs {
		total[progs[i].ID] = progs[i].Deploy.Instances
	}
	n := 0
	for _, k := range total {
		n += k
	}
	if n > s.cfg.MaxInstances {
		return openzone.Errorf(openzone.ErrInvalidParam, "deploy.instances: the zone would run %d instances of its programs, over its limit of %d", n, s.cfg.MaxInstances)
	}
	return nil
}

// ApplySeed parses a seed file and applies it in one transaction: all of it
// or nothing. It is idempotent: applying the same file twice changes
// nothing. Relative command paths resolve against base (the seed file's
// directory). Programs it names are then redeployed to match.
func (s *Service) ApplySeed(ctx context.Context, name string, data []byte, base string) (*Summary, error) {
	f, err := seed.Parse(name, data)
	if err != nil {
		return nil, err
	}
	for i := range f.Programs {
		d := &f.Programs[i].Deploy
		if d.Image != "" {
			// The command is inside the image; the image is beside the seed.
			d.Image = resolvePath(d.Image, base)
		} else {
			d.Command = resolveCommand(d.Command, base)
		}
		// A deployment this host cannot run, or a bad image, stops the
		// seed before anything is stored.
		if _, _, err := s.isolation(&f.Programs[i]); err != nil {
			return nil, openzone.Errorf(openzone.ErrorCode(err), "programs[%d] (%s): %s", i, f.Programs[i].ID, openzone.ErrorMessage(err))
		}
	}
	err = s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		if err := s.checkInstances(ctx, tx, f.Programs); err != nil {
			return openzone.Errorf(openzone.ErrorCode(err), "%s: %s", name, openzone.ErrorMessage(err))
		}
		return s.store(ctx, tx, f)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Apps.Invalidate()
	for i := range f.Programs {
		if err := s.Reconcile(ctx, &f.Programs[i]); err != nil {
			return nil, err
		}
	}
	if err := s.applyMessages(ctx, f); err != nil {
		return nil, err
	}
	return &Summary{Providers: len(f.Providers), Corps: len(f.Corps), Programs: len(f.Programs), Apps: len(f.Apps)}, nil
}

// store writes a seed file's providers, corps, programs and apps in tx.
func (s *Service) store(ctx context.Context, tx store.Executor, f *seed.File) error {
	for i := range f.Providers {
		if err := tx.ProviderUpsert(ctx, &f.Providers[i]); err != nil {
			return err
		}
	}
	for i := range f.Corps {
		if err := s.storeCorp(ctx, tx, &f.Corps[i]); err != nil {
			return err
		}
	}
	for i := range f.Programs {
		p := &f.Programs[i]
		if err := tx.ProgramUpsert(ctx, p); err != nil {
			return err
		}
		if err := ensureSecret(ctx, tx, p.ID); err != nil {
			return err
		}
	}
	for i := range f.Apps {
		a := &f.Apps[i]
		if err := tx.AppUpsert(ctx, &a.App); err != nil {
			return err
		}
		if err := tx.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: a.App.CorpID, AgentID: a.App.AgentID, ProgramIDs: a.Programs}); err != nil {
			return err
		}
	}
	for i := range f.WWModels {
		if err := tx.WWModelUpsert(ctx, &f.WWModels[i]); err != nil {
			return err
		}
	}
	return nil
}

// storeCorp writes a seed corp with its members, external contacts and
// group chats.
func (s *Service) storeCorp(ctx context.Context, tx store.Executor, c *seed.CorpEntry) error {
	if err := tx.CorpUpsert(ctx, &c.Corp); err != nil {
		return err
	}
	for j := range c.Members {
		if err := tx.MemberUpsert(ctx, &c.Members[j]); err != nil {
			return err
		}
	}
	externals := map[string]bool{}
	for j := range c.ExternalContacts {
		if err := tx.ExternalContactUpsert(ctx, &c.ExternalContacts[j]); err != nil {
			return err
		}
		externals[c.ExternalContacts[j].ExternalUserID] = true
	}
	for _, ch := range c.Chats {
		chat := &openzone.Chat{CorpID: c.Corp.CorpID, ChatID: ch.ChatID, Name: ch.Name, Owner: ch.Owner, CreateTime: s.cfg.Now()}
		for _, m := range ch.Members {
			chat.Members = append(chat.Members, openzone.ChatMember{MemberID: m, Type: partyType(externals, m), JoinTime: chat.CreateTime})
		}
		if err := tx.ChatUpsert(ctx, chat); err != nil {
			return err
		}
	}
	if c.TagGroups != nil {
		return tx.TagGroupsSet(ctx, c.Corp.CorpID, c.TagGroups)
	}
	return nil
}

// SaveProgram stores a program from the admin API (with its first secret
// when new) and deploys it as its Deploy says.
func (s *Service) SaveProgram(ctx context.Context, p *openzone.Program) error {
	if _, _, err := s.isolation(p); err != nil {
		return err
	}
	err := s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		if err := s.checkInstances(ctx, tx, []openzone.Program{*p}); err != nil {
			return err
		}
		if err := tx.ProgramUpsert(ctx, p); err != nil {
			return err
		}
		return ensureSecret(ctx, tx, p.ID)
	})
	if err != nil {
		return err
	}
	s.cfg.Apps.Invalidate()
	return s.Reconcile(ctx, p)
}

// resolveCommand makes a relative program path ("./bin/x", "bin/x")
// absolute against base; bare names ("python3") are left for PATH lookup.
func resolveCommand(cmd []string, base string) []string {
	if len(cmd) == 0 || base == "" {
		return cmd
	}
	c0 := cmd[0]
	if filepath.IsAbs(c0) || !strings.ContainsRune(c0, '/') {
		return cmd
	}
	out := append([]string(nil), cmd...)
	out[0] = filepath.Join(base, c0)
	return out
}

// resolvePath makes a relative file path absolute against base.
func resolvePath(p, base string) string {
	if p == "" || base == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// ensureSecret gives a program its first secret (version 1).
func ensureSecret(ctx context.Context, tx store.Executor, programID string) error {
	_, err := tx.ProgramSecretGet(ctx, programID)
	if err == nil {
		return nil
	}
	if !openzone.IsNotFound(err) {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("program secret: %w", err)
	}
	return tx.ProgramSecretPut(ctx, &openzone.ProgramSecret{ProgramID: programID, Ver: 1, Key: key})
}

// Reconcile makes the supervisor run what the program's deployment says.
func (s *Service) Reconcile(ctx context.Context, p *openzone.Program) error {
	s.cfg.Keys.Forget(p.ID)
	if !p.Deploy.Deployed() {
		return s.cfg.Supervisor.Undeploy(p.ID)
	}
	sec, err := s.cfg.Store.ProgramSecretGet(ctx, p.ID)
	if err != nil {
		return err
	}
	_, sbx, err := s.isolation(p)
	if err != nil {
		return err
	}
	spec := supervisor.Spec{
		ProgramID: p.ID,
		Command:   p.Deploy.Command,
		Instances: p.Deploy.Instances,
		URL:       p.Deploy.URL,
		Dir:       s.cfg.Dir,
		Secret:    strconv.Itoa(sec.Ver) + ":" + base64.StdEncoding.EncodeToString(sec.Key),
		Sandbox:   sbx,
	}
	if err := s.cfg.Supervisor.Deploy(ctx, spec); err != nil {
		return openzone.Wrap(openzone.ErrInvalidParam, err, "deploying program %q failed: %v", p.ID, err)
	}
	return nil
}

// ReconcileEach applies the stored deployments, each on its own: one
// that fails (logged) does not hold back the others. A node on PostgreSQL
// runs it to pick up deployments (and secret rotations) that a seed
// applied through another node changed.
func (s *Service) ReconcileEach(ctx context.Context) {
	ps, err := s.cfg.Store.ProgramList(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("read deployments", "err", err)
		}
		return
	}
	for _, p := range ps {
		if err := s.Reconcile(ctx, p); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("apply a deployment changed through another node", "program_id", p.ID, "err", err)
		}
	}
}

// ReconcileAll starts every deployed program found in the store.
func (s *Service) ReconcileAll(ctx context.Context) error {
	ps, err := s.cfg.Store.ProgramList(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := s.Reconcile(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// Notice says once, at start, whether this host sandboxes deployed
// instances, and why not when it does not.
func (s *Service) Notice() {
	sup := s.cfg.Sandbox.Probe()
	if !sup.Sandbox {
		s.cfg.Logger.Warn("isolation off: " + sup.Reason + "; deployed programs run as plain local processes (deploy.isolation: on refuses to deploy them)")
		return
	}
	s.cfg.Logger.Info("sandboxes on: each deployed instance runs sealed, on its own 0.0.0.0:8080, reaching only the program API",
		"limits", sup.Limits, "images", sup.Runtime, "uid", sup.UID)
}

// isolation decides how a program's instances run on this host, and gives
// the sandbox spec when they run sandboxed (unpacking its image, checking
// its command's files).
func (s *Service) isolation(p *openzone.Program) (sandbox.Decision, *sandbox.Spec, error) {
	dec, err := sandbox.Decide(p.Deploy, s.cfg.Sandbox.Probe())
	if err != nil || !dec.Sandboxed {
		return dec, nil, err
	}
	spec := &sandbox.Spec{Limits: p.Deploy.Limits, SDKPath: p.Deploy.SDKPath}
	if p.Deploy.Image != "" {
		if spec.Image, err = s.cfg.Sandbox.Image(p.Deploy.Image); err != nil {
			return dec, nil, err
		}
	} else if err := s.cfg.Sandbox.CheckCommand(p.Deploy.Command); err != nil {
		return dec, nil, err
	}
	return dec, spec, nil
}

// Isolation says how a program's instances run on this host, and why.
func (s *Service) Isolation(p *openzone.Program) sandbox.Decision {
	dec, err := sandbox.Decide(p.Deploy, s.cfg.Sandbox.Probe())
	if err != nil {
		dec.Note = "not deployed: " + openzone.ErrorMessage(err)
	}
	return dec
}

func partyType(externals map[string]bool, id string) int {
	if externals[id] {
		return openzone.PartyExternal
	}
	return openzone.PartyMember
}

// applyMessages archives the seed's messages that are not archived yet
// (by msgid), so applying a seed again adds nothing.
func (s *Service) applyMessages(ctx context.Context, f *seed.File) error {
	for _, c := range f.Corps {
		externals := map[string]bool{}
		for _, x := range c.ExternalContacts {
			externals[x.ExternalUserID] = true
		}
		var ins []*archive.Input
		for _, m := range c.Messages {
			if _, err := s.cfg.Store.MessageGet(ctx, c.Corp.CorpID, m.MsgID); err == nil {
				continue
			} else if !openzone.IsNotFound(err) {
				return err
			}
			content, _ := json.Marshal(map[string]string{"content": m.Text})
			in := &archive.Input{MsgID: m.MsgID, MsgType: 1, ChatID: m.Chat, Content: content,
				Sender: &openzone.Party{Type: partyType(externals, m.From), ID: m.From}}
			for _, t := range m.To {
				in.Receivers = append(in.Receivers, openzone.Party{Type: partyType(externals, t), ID: t})
			}
			ins = append(ins, in)
		}
		if len(ins) > 0 {
			if _, err := s.cfg.Archive.Ingest(ctx, c.Corp.CorpID, ins); err != nil {
				return err
			}
		}
	}
	return nil
}
