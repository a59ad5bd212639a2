package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/adminapi"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/seed"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/supervisor"
)

// ApplySeed parses a seed file and applies it in one transaction: all of it
// or nothing. It is idempotent: applying the same file twice changes
// nothing. Relative command paths resolve against base (the seed file's
// directory). Programs it names are then redeployed to match.
func (s *Server) ApplySeed(ctx context.Context, name string, data []byte, base string) (*adminapi.SeedSummary, error) {
	f, err := seed.Parse(name, data)
	if err != nil {
		return nil, err
	}
	for i := range f.Programs {
		f.Programs[i].Deploy.Command = resolveCommand(f.Programs[i].Deploy.Command, base)
	}
	err = s.store.InTx(ctx, func(tx store.Executor) error {
		for i := range f.Providers {
			if err := tx.ProviderUpsert(ctx, &f.Providers[i]); err != nil {
				return err
			}
		}
		for i := range f.Corps {
			c := &f.Corps[i]
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
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.app.Invalidate()
	for i := range f.Programs {
		if err := s.reconcile(ctx, &f.Programs[i]); err != nil {
			return nil, err
		}
	}
	if err := s.applyMessages(ctx, f); err != nil {
		return nil, err
	}
	return &adminapi.SeedSummary{Providers: len(f.Providers), Corps: len(f.Corps), Programs: len(f.Programs), Apps: len(f.Apps)}, nil
}

// saveProgram stores a program from the admin API (with its first secret
// when new) and deploys it as its Deploy says.
func (s *Server) saveProgram(ctx context.Context, p *openzone.Program) error {
	err := s.store.InTx(ctx, func(tx store.Executor) error {
		if err := tx.ProgramUpsert(ctx, p); err != nil {
			return err
		}
		return ensureSecret(ctx, tx, p.ID)
	})
	if err != nil {
		return err
	}
	s.app.Invalidate()
	return s.reconcile(ctx, p)
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

// reconcile makes the supervisor run what the program's deployment says.
func (s *Server) reconcile(ctx context.Context, p *openzone.Program) error {
	s.gateway.Forget(p.ID)
	if !p.Deploy.Deployed() {
		return s.supervisor.Undeploy(p.ID)
	}
	sec, err := s.store.ProgramSecretGet(ctx, p.ID)
	if err != nil {
		return err
	}
	spec := supervisor.Spec{
		ProgramID: p.ID,
		Command:   p.Deploy.Command,
		Instances: p.Deploy.Instances,
		URL:       p.Deploy.URL,
		Dir:       s.cfg.DataDir,
		Secret:    strconv.Itoa(sec.Ver) + ":" + base64.StdEncoding.EncodeToString(sec.Key),
	}
	if err := s.supervisor.Deploy(ctx, spec); err != nil {
		return openzone.Wrap(openzone.ErrInvalidParam, err, "deploying program %q failed: %v", p.ID, err)
	}
	return nil
}

// reconcileAll starts every deployed program found in the store.
func (s *Server) reconcileAll(ctx context.Context) error {
	ps, err := s.store.ProgramList(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := s.reconcile(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func partyType(externals map[string]bool, id string) int {
	if externals[id] {
		return openzone.PartyExternal
	}
	return openzone.PartyMember
}

// applyMessages archives the seed's messages that are not archived yet
// (by msgid), so applying a seed again adds nothing.
func (s *Server) applyMessages(ctx context.Context, f *seed.File) error {
	for _, c := range f.Corps {
		externals := map[string]bool{}
		for _, x := range c.ExternalContacts {
			externals[x.ExternalUserID] = true
		}
		var ins []*archive.Input
		for _, m := range c.Messages {
			if _, err := s.store.MessageGet(ctx, c.Corp.CorpID, m.MsgID); err == nil {
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
			if _, err := s.archive.Ingest(ctx, c.Corp.CorpID, ins); err != nil {
				return err
			}
		}
	}
	return nil
}
