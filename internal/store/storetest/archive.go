package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// nilIfEmpty is a byte string as a store returns it: none is nil.
func nilIfEmpty[T ~[]E, E any](b T) T {
	if len(b) == 0 {
		return nil
	}
	return b
}

func storedChat(c openzone.Chat) *openzone.Chat {
	c.CreateTime = ms(c.CreateTime)
	var members []openzone.ChatMember
	for _, m := range c.Members {
		m.JoinTime = ms(m.JoinTime)
		members = append(members, m)
	}
	c.Members = members
	return &c
}

func testChat(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		alice := openzone.ChatMember{MemberID: "alice", Type: 1, JoinTime: t0.Add(time.Hour)}
		bob := openzone.ChatMember{MemberID: "bob", Type: 1, JoinTime: t0}
		wm := openzone.ChatMember{MemberID: "wmext", Type: 2, JoinTime: t0} // joined with bob: member id breaks the tie
		linked := openzone.ChatMember{MemberID: "zz-linked", Type: 3}       // no join time: first
		tests := []struct {
			name    string
			chat    openzone.Chat
			members []openzone.ChatMember // as read back
		}{
			{"AllSet", openzone.Chat{CorpID: "wwcorp", ChatID: "wrchat1", Name: "项目群", Owner: "alice", CreateTime: t0,
				Members: []openzone.ChatMember{alice, wm, linked, bob}},
				[]openzone.ChatMember{linked, bob, wm, alice}},
			{"NoMembers", openzone.Chat{CorpID: "wwcorp", ChatID: "wrchat2", Name: "Empty", Owner: "bob", CreateTime: t0}, nil},
			{"Zero", openzone.Chat{CorpID: "wwcorp", ChatID: "wrchat3"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s, _ := setup(t, open)
				ctx := t.Context()
				c := tc.chat
				mustOK(t, s.ChatUpsert(ctx, &c))
				got, err := s.ChatGet(ctx, c.CorpID, c.ChatID)
				mustOK(t, err)
				want := tc.chat
				want.Members = tc.members
				wantEqual(t, got, storedChat(want))
			})
		}
	})
	t.Run("UpsertReplaces", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.ChatUpsert(ctx, &openzone.Chat{CorpID: "wwcorp", ChatID: "wr", Name: "Old", Owner: "alice", CreateTime: t0,
			Members: []openzone.ChatMember{{MemberID: "alice", Type: 1, JoinTime: t0}, {MemberID: "bob", Type: 1, JoinTime: t0}}}))
		want := openzone.Chat{CorpID: "wwcorp", ChatID: "wr", Name: "New", Owner: "bob",
			Members: []openzone.ChatMember{{MemberID: "bob", Type: 1, JoinTime: t0.Add(time.Minute)}, {MemberID: "carol", Type: 2, JoinTime: t0.Add(time.Hour)}}}
		mustOK(t, s.ChatUpsert(ctx, &want))
		got, err := s.ChatGet(ctx, "wwcorp", "wr")
		mustOK(t, err)
		wantEqual(t, got, storedChat(want))

		want.Members = nil
		mustOK(t, s.ChatUpsert(ctx, &want))
		got, err = s.ChatGet(ctx, "wwcorp", "wr")
		mustOK(t, err)
		wantEqual(t, got, storedChat(want))
	})
	t.Run("ErrConflictDuplicateMember", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		old := openzone.Chat{CorpID: "wwcorp", ChatID: "wr", Name: "Old", CreateTime: t0,
			Members: []openzone.ChatMember{{MemberID: "alice", Type: 1, JoinTime: t0}}}
		mustOK(t, s.ChatUpsert(ctx, &old))
		dup := openzone.Chat{CorpID: "wwcorp", ChatID: "wr", Name: "Changed",
			Members: []openzone.ChatMember{{MemberID: "bob", Type: 1}, {MemberID: "bob", Type: 2}}}
		wantCode(t, s.ChatUpsert(ctx, &dup), openzone.ErrConflict)
		got, err := s.ChatGet(ctx, "wwcorp", "wr")
		mustOK(t, err)
		wantEqual(t, got, storedChat(old)) // nothing of the failed upsert was kept
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		got, err := s.ChatList(ctx, "wwcorp")
		mustOK(t, err)
		wantEqual(t, len(got), 0)

		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		b := openzone.Chat{CorpID: "wwcorp", ChatID: "wrb", Name: "B", CreateTime: t0,
			Members: []openzone.ChatMember{{MemberID: "y", Type: 1, JoinTime: t0.Add(time.Second)}, {MemberID: "x", Type: 1, JoinTime: t0.Add(2 * time.Second)}}}
		a := openzone.Chat{CorpID: "wwcorp", ChatID: "wra", Name: "A"}
		c := openzone.Chat{CorpID: "wwcorp", ChatID: "wrc", Name: "C",
			Members: []openzone.ChatMember{{MemberID: "z", Type: 2, JoinTime: t0}}}
		other := openzone.Chat{CorpID: "wwother", ChatID: "wra", Name: "Other",
			Members: []openzone.ChatMember{{MemberID: "o", Type: 1, JoinTime: t0}}}
		for _, ch := range []*openzone.Chat{&b, &other, &a, &c} {
			mustOK(t, s.ChatUpsert(ctx, ch))
		}
		got, err = s.ChatList(ctx, "wwcorp")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.Chat{storedChat(a), storedChat(b), storedChat(c)})
		got, err = s.ChatList(ctx, "wwother")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.Chat{storedChat(other)})
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.ChatUpsert(ctx, &openzone.Chat{CorpID: "wwcorp", ChatID: "wr"}))
		_, err := s.ChatGet(ctx, "wwcorp", "nope")
		wantCode(t, err, openzone.ErrNotFound)
		_, err = s.ChatGet(ctx, "nope", "wr")
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.ChatUpsert(ctx, &openzone.Chat{CorpID: "nope", ChatID: "wr",
			Members: []openzone.ChatMember{{MemberID: "a", Type: 1}}}), openzone.ErrNotFound)
		got, err := s.ChatList(ctx, "nope")
		mustOK(t, err)
		wantEqual(t, len(got), 0)
	})
}

func storedMessage(m openzone.Message) *openzone.Message {
	m.SendTime, m.Ingested = ms(m.SendTime), ms(m.Ingested)
	m.Receivers, m.Extra = nilIfEmpty(m.Receivers), nilIfEmpty(m.Extra)
	m.Content, m.SealedKey = nilIfEmpty(m.Content), nilIfEmpty(m.SealedKey)
	return &m
}

// message returns a message of wwcorp ingested at t0+at.
func message(msgID, chatID string, at time.Duration) *openzone.Message {
	return &openzone.Message{CorpID: "wwcorp", MsgID: msgID, ChatID: chatID,
		Sender: openzone.Party{Type: openzone.PartyMember, ID: "alice"}, SendTime: t0, MsgType: 1,
		Content: []byte("sealed:" + msgID), SealedKey: []byte("key:" + msgID), Ingested: t0.Add(at)}
}

func msgIDs(msgs []*openzone.Message) []string {
	return ids(msgs, func(m *openzone.Message) string { return m.MsgID })
}

func testMessage(t *testing.T, open func(*testing.T) store.Store) {
	// The display page's lookup: by key tag and msgid, across corps; a
	// msgid in two corps finds each with its own tag.
	t.Run("KeyTag", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother", Name: "Other"}))
		a := &openzone.Message{CorpID: "wwcorp", MsgID: "same", Ingested: t0, KeyTag: []byte("tag-a-0123456789")}
		b := &openzone.Message{CorpID: "wwother", MsgID: "same", Ingested: t0, KeyTag: []byte("tag-b-0123456789")}
		old := &openzone.Message{CorpID: "wwother", MsgID: "old", Ingested: t0}
		for _, m := range []*openzone.Message{a, b, old} {
			mustOK(t, s.MessageInsert(ctx, m))
		}
		for _, want := range []*openzone.Message{a, b} {
			got, err := s.MessageGetByKeyTag(ctx, want.KeyTag, "same")
			mustOK(t, err)
			if got.CorpID != want.CorpID || !bytes.Equal(got.KeyTag, want.KeyTag) {
				t.Fatalf("MessageGetByKeyTag(%q) = corp %s, want %s", want.KeyTag, got.CorpID, want.CorpID)
			}
		}
		if _, err := s.MessageGetByKeyTag(ctx, a.KeyTag, "old"); !openzone.IsNotFound(err) {
			t.Fatalf("another message's tag: %v, want not found", err)
		}
		untagged, err := s.MessageListUntagged(ctx, 10)
		mustOK(t, err)
		if len(untagged) != 1 || untagged[0].MsgID != "old" {
			t.Fatalf("MessageListUntagged = %v, want the one untagged", untagged)
		}
		mustOK(t, s.MessageSetKeyTag(ctx, old.Seq, []byte("tag-old-23456789")))
		if got, err := s.MessageGetByKeyTag(ctx, []byte("tag-old-23456789"), "old"); err != nil || got.Seq != old.Seq {
			t.Fatalf("after MessageSetKeyTag: %v %v", got, err)
		}
		untagged, err = s.MessageListUntagged(ctx, 10)
		mustOK(t, err)
		if len(untagged) != 0 {
			t.Fatalf("MessageListUntagged after tagging = %d messages", len(untagged))
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			msg  openzone.Message
		}{
			{"Group", openzone.Message{CorpID: "wwcorp", MsgID: "msg-1", ChatID: "wrchat",
				Sender: openzone.Party{Type: openzone.PartyExternal, ID: "wmext"},
				Receivers: []openzone.Party{
					{Type: openzone.PartyMember, ID: "zhangsan"}, {Type: openzone.PartyBot, ID: "bot"}, {Type: openzone.PartyMember, ID: "alice"},
				},
				SendTime: t0.Add(-time.Minute), MsgType: 7,
				// Odd spacing and key order must come back byte for byte.
				Extra:     json.RawMessage(`{ "call_duration" : 12 ,"a":"文本"}`),
				Content:   []byte{0, 0xff, 0, 's', 0, 0x80},
				SealedKey: bytes.Repeat([]byte{0xa5, 0}, 30),
				Ingested:  t0}},
			{"Single", openzone.Message{CorpID: "wwcorp", MsgID: "msg-2",
				Sender:    openzone.Party{Type: openzone.PartyMember, ID: "alice"},
				Receivers: []openzone.Party{{Type: openzone.PartyExternal, ID: "wmext"}},
				SendTime:  t0, MsgType: 1, Content: []byte("c"), SealedKey: []byte("k"), Ingested: t0}},
			{"Empty", openzone.Message{CorpID: "wwcorp", MsgID: "msg-3", Receivers: []openzone.Party{},
				Extra: json.RawMessage{}, Content: []byte{}, Ingested: t0}},
			// The Unix epoch is a time, not "unset".
			{"Epoch", openzone.Message{CorpID: "wwcorp", MsgID: "msg-4", SendTime: time.UnixMilli(0).UTC(),
				Ingested: time.UnixMilli(1).UTC()}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s, _ := setup(t, open)
				ctx := t.Context()
				m := tc.msg
				mustOK(t, s.MessageInsert(ctx, &m))
				if m.Seq <= 0 {
					t.Fatalf("MessageInsert set Seq %d, want > 0", m.Seq)
				}
				got, err := s.MessageGet(ctx, m.CorpID, m.MsgID)
				mustOK(t, err)
				want := tc.msg
				want.Seq = m.Seq
				wantEqual(t, got, storedMessage(want))
				if !bytes.Equal(got.Content, tc.msg.Content) || !bytes.Equal(got.SealedKey, tc.msg.SealedKey) ||
					!bytes.Equal(got.Extra, tc.msg.Extra) {
					t.Fatalf("bytes changed: %q %q %q", got.Content, got.SealedKey, got.Extra)
				}
				list, err := s.MessageList(ctx, openzone.MessageFilter{CorpID: m.CorpID})
				mustOK(t, err)
				wantEqual(t, list, []*openzone.Message{storedMessage(want)})
			})
		}
	})
	t.Run("Seq", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		last, err := s.MessageLastSeq(ctx)
		mustOK(t, err)
		wantEqual(t, last, int64(0))

		// Seqs grow across the whole store, not per corp.
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		var prev int64
		for i := range 6 {
			m := message(fmt.Sprint("m", i), "", 0)
			if i%2 == 1 {
				m.CorpID = "wwother"
			}
			mustOK(t, s.MessageInsert(ctx, m))
			if m.Seq <= prev {
				t.Fatalf("insert %d: Seq %d not above %d", i, m.Seq, prev)
			}
			prev = m.Seq
			last, err := s.MessageLastSeq(ctx)
			mustOK(t, err)
			wantEqual(t, last, m.Seq)
		}
	})
	t.Run("SeqNotReusedAfterPrune", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		var pruned int64
		for i := range 3 {
			m := message(fmt.Sprint("m", i), "", 0)
			mustOK(t, s.MessageInsert(ctx, m))
			pruned = m.Seq
		}
		n, err := s.MessagePrune(ctx, "wwcorp", t0.Add(time.Second))
		mustOK(t, err)
		wantEqual(t, n, int64(3))
		last, err := s.MessageLastSeq(ctx)
		mustOK(t, err)
		wantEqual(t, last, int64(0)) // the largest seq *in the store*: none left

		m := message("m0", "", time.Minute) // a pruned msgid may come again
		mustOK(t, s.MessageInsert(ctx, m))
		if m.Seq <= pruned {
			t.Fatalf("Seq %d after prune, want above the pruned %d", m.Seq, pruned)
		}
		last, err = s.MessageLastSeq(ctx)
		mustOK(t, err)
		wantEqual(t, last, m.Seq)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		first := message("dup", "", 0)
		mustOK(t, s.MessageInsert(ctx, first))
		again := message("dup", "wrchat", time.Second)
		wantCode(t, s.MessageInsert(ctx, again), openzone.ErrConflict)
		wantEqual(t, again.Seq, int64(0)) // not set on failure
		got, err := s.MessageGet(ctx, "wwcorp", "dup")
		mustOK(t, err)
		wantEqual(t, got, storedMessage(*first))

		// The same msgid in another corp is another message.
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		other := message("dup", "", 0)
		other.CorpID = "wwother"
		mustOK(t, s.MessageInsert(ctx, other))
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.MessageInsert(ctx, message("m1", "", 0)))
		_, err := s.MessageGet(ctx, "wwcorp", "nope")
		wantCode(t, err, openzone.ErrNotFound)
		_, err = s.MessageGet(ctx, "wwother", "m1")
		wantCode(t, err, openzone.ErrNotFound)
		m := message("m2", "", 0)
		m.CorpID = "nope"
		wantCode(t, s.MessageInsert(ctx, m), openzone.ErrNotFound)
		wantEqual(t, m.Seq, int64(0))
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		// Ingestion times are not in insertion order: the list follows Seq.
		seq := map[string]int64{}
		for _, m := range []*openzone.Message{
			message("a", "wr1", 3*time.Second),
			message("b", "", 1*time.Second),
			message("c", "wr2", 2*time.Second),
			message("d", "wr1", 4*time.Second),
			message("e", "", 2*time.Second),
		} {
			mustOK(t, s.MessageInsert(ctx, m))
			seq[m.MsgID] = m.Seq
		}
		o := message("o", "wr1", 5*time.Second)
		o.CorpID = "wwother"
		mustOK(t, s.MessageInsert(ctx, o))

		tests := []struct {
			name string
			f    openzone.MessageFilter
			want []string
		}{
			{"All", openzone.MessageFilter{CorpID: "wwcorp"}, []string{"a", "b", "c", "d", "e"}},
			{"OtherCorp", openzone.MessageFilter{CorpID: "wwother"}, []string{"o"}},
			{"UnknownCorp", openzone.MessageFilter{CorpID: "nope"}, []string{}},
			{"NoCorp", openzone.MessageFilter{}, []string{}},
			{"AfterSeq", openzone.MessageFilter{CorpID: "wwcorp", AfterSeq: seq["b"]}, []string{"c", "d", "e"}},
			{"AfterLast", openzone.MessageFilter{CorpID: "wwcorp", AfterSeq: seq["e"]}, []string{}},
			// Since is inclusive, at millisecond precision.
			{"Since", openzone.MessageFilter{CorpID: "wwcorp", Since: t0.Add(2 * time.Second)}, []string{"a", "c", "d", "e"}},
			{"SinceJustAfter", openzone.MessageFilter{CorpID: "wwcorp", Since: ms(t0.Add(2 * time.Second)).Add(time.Millisecond)}, []string{"a", "d"}},
			{"Chat", openzone.MessageFilter{CorpID: "wwcorp", ChatID: "wr1"}, []string{"a", "d"}},
			{"UnknownChat", openzone.MessageFilter{CorpID: "wwcorp", ChatID: "nope"}, []string{}},
			{"Limit", openzone.MessageFilter{CorpID: "wwcorp", Limit: 2}, []string{"a", "b"}},
			{"AllFilters", openzone.MessageFilter{CorpID: "wwcorp", AfterSeq: seq["a"], Since: t0.Add(2 * time.Second), ChatID: "wr1", Limit: 1}, []string{"d"}},
			{"AfterSeqAndLimit", openzone.MessageFilter{CorpID: "wwcorp", AfterSeq: seq["a"], Limit: 2}, []string{"b", "c"}},
		}
		for _, tc := range tests {
			got, err := s.MessageList(ctx, tc.f)
			mustOK(t, err)
			if got := msgIDs(got); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
			}
		}
	})
	t.Run("ListLimits", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.InTx(ctx, func(e store.Executor) error {
			for i := range 1005 {
				if err := e.MessageInsert(ctx, &openzone.Message{CorpID: "wwcorp", MsgID: fmt.Sprint("m", i), Ingested: t0}); err != nil {
					return err
				}
			}
			return nil
		}))
		for _, tc := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {7, 7}, {1000, 1000}, {1001, 1001}, {5000, 1005}} {
			got, err := s.MessageList(ctx, openzone.MessageFilter{CorpID: "wwcorp", Limit: tc.limit})
			mustOK(t, err)
			if len(got) != tc.want {
				t.Errorf("Limit %d: got %d messages, want %d", tc.limit, len(got), tc.want)
			} else if got[0].MsgID != "m0" {
				t.Errorf("Limit %d: first is %q, want the oldest, m0", tc.limit, got[0].MsgID)
			}
		}
	})
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		n, err := s.MessagePrune(ctx, "wwcorp", t0)
		mustOK(t, err)
		wantEqual(t, n, int64(0))
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		for _, m := range []*openzone.Message{
			message("old", "", -time.Hour),
			message("ms-before", "", -time.Millisecond),
			message("at", "", 0), // not ingested before t0 (both at millisecond precision): kept
			message("after", "", time.Second),
			message("older", "", -2*time.Hour),
		} {
			mustOK(t, s.MessageInsert(ctx, m))
		}
		o := message("other-old", "", -time.Hour)
		o.CorpID = "wwother"
		mustOK(t, s.MessageInsert(ctx, o))

		n, err = s.MessagePrune(ctx, "wwcorp", t0)
		mustOK(t, err)
		wantEqual(t, n, int64(3))
		got, err := s.MessageList(ctx, openzone.MessageFilter{CorpID: "wwcorp"})
		mustOK(t, err)
		wantEqual(t, msgIDs(got), []string{"at", "after"})
		got, err = s.MessageList(ctx, openzone.MessageFilter{CorpID: "wwother"})
		mustOK(t, err)
		wantEqual(t, msgIDs(got), []string{"other-old"}) // another corp's are its own
		_, err = s.MessageGet(ctx, "wwcorp", "old")
		wantCode(t, err, openzone.ErrNotFound)
		n, err = s.MessagePrune(ctx, "wwcorp", t0)
		mustOK(t, err)
		wantEqual(t, n, int64(0))
		n, err = s.MessagePrune(ctx, "nope", t0.Add(time.Hour))
		mustOK(t, err)
		wantEqual(t, n, int64(0))
	})
	t.Run("Rollback", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		errStop := errors.New("stop")
		var seq int64
		err := s.InTx(ctx, func(e store.Executor) error {
			m := message("m1", "wr", 0)
			mustOK(t, e.MessageInsert(ctx, m))
			seq = m.Seq
			got, err := e.MessageGet(ctx, "wwcorp", "m1") // a transaction reads its own insert
			mustOK(t, err)
			wantEqual(t, got, storedMessage(*m))
			last, err := e.MessageLastSeq(ctx)
			mustOK(t, err)
			wantEqual(t, last, m.Seq)
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("InTx err = %v, want the error fn returned", err)
		}
		_, err = s.MessageGet(ctx, "wwcorp", "m1")
		wantCode(t, err, openzone.ErrNotFound)
		got, err := s.MessageList(ctx, openzone.MessageFilter{CorpID: "wwcorp"})
		mustOK(t, err)
		wantEqual(t, len(got), 0)
		last, err := s.MessageLastSeq(ctx)
		mustOK(t, err)
		wantEqual(t, last, int64(0))
		// The msgid is free again, and seqs still grow from there.
		m := message("m1", "wr", 0)
		mustOK(t, s.MessageInsert(ctx, m))
		if m.Seq <= 0 || seq <= 0 {
			t.Fatalf("seqs %d (rolled back) and %d, want > 0", seq, m.Seq)
		}
	})
}

func storedAgree(a openzone.AgreeStatus) *openzone.AgreeStatus {
	a.ChangeTime = ms(a.ChangeTime)
	if a.ChatID != "" {
		a.UserID = "" // a room record has no userid
	}
	return &a
}

func testAgree(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		single := openzone.AgreeStatus{CorpID: "wwcorp", UserID: "zhangsan", ExternalUserID: "wmext", Status: "Agree", ChangeTime: t0}
		room := openzone.AgreeStatus{CorpID: "wwcorp", ChatID: "wrchat", ExternalUserID: "wmext", Status: "Disagree", ChangeTime: t0.Add(time.Second)}
		zero := openzone.AgreeStatus{CorpID: "wwcorp", UserID: "lisi", ExternalUserID: "wmext", Status: "Agree"}
		for _, a := range []openzone.AgreeStatus{single, room, zero} {
			mustOK(t, s.AgreeUpsert(ctx, &a))
		}
		got, err := s.AgreeGetSingle(ctx, store.AgreeGetSingleParams{CorpID: "wwcorp", UserID: "zhangsan", ExternalUserID: "wmext"})
		mustOK(t, err)
		wantEqual(t, got, storedAgree(single))
		got, err = s.AgreeGetSingle(ctx, store.AgreeGetSingleParams{CorpID: "wwcorp", UserID: "lisi", ExternalUserID: "wmext"})
		mustOK(t, err)
		wantEqual(t, got, storedAgree(zero))
		list, err := s.AgreeListRoom(ctx, "wwcorp", "wrchat")
		mustOK(t, err)
		wantEqual(t, list, []*openzone.AgreeStatus{storedAgree(room)})
	})
	t.Run("UpsertReplaces", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		for _, a := range []openzone.AgreeStatus{
			{CorpID: "wwcorp", UserID: "zhangsan", ExternalUserID: "wmext", Status: "Agree", ChangeTime: t0},
			{CorpID: "wwcorp", ChatID: "wrchat", ExternalUserID: "wmext", Status: "Agree", ChangeTime: t0},
		} {
			mustOK(t, s.AgreeUpsert(ctx, &a))
			a.Status, a.ChangeTime = "Disagree", t0.Add(time.Hour)
			mustOK(t, s.AgreeUpsert(ctx, &a))
		}
		got, err := s.AgreeGetSingle(ctx, store.AgreeGetSingleParams{CorpID: "wwcorp", UserID: "zhangsan", ExternalUserID: "wmext"})
		mustOK(t, err)
		wantEqual(t, got, &openzone.AgreeStatus{CorpID: "wwcorp", UserID: "zhangsan", ExternalUserID: "wmext",
			Status: "Disagree", ChangeTime: ms(t0.Add(time.Hour))})
		list, err := s.AgreeListRoom(ctx, "wwcorp", "wrchat")
		mustOK(t, err)
		wantEqual(t, list, []*openzone.AgreeStatus{{CorpID: "wwcorp", ChatID: "wrchat", ExternalUserID: "wmext",
			Status: "Disagree", ChangeTime: ms(t0.Add(time.Hour))}})
	})
	t.Run("Keys", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		single := openzone.AgreeStatus{CorpID: "wwcorp", UserID: "zhangsan", ExternalUserID: "wm1", Status: "Agree", ChangeTime: t0}
		// A room record is keyed by chatid: its UserID is not part of the
		// key and is not kept, so it does not touch the single record.
		room := openzone.AgreeStatus{CorpID: "wwcorp", ChatID: "wrchat", UserID: "zhangsan", ExternalUserID: "wm1", Status: "Disagree", ChangeTime: t0}
		otherUser := openzone.AgreeStatus{CorpID: "wwcorp", UserID: "lisi", ExternalUserID: "wm1", Status: "Disagree", ChangeTime: t0}
		otherCorp := openzone.AgreeStatus{CorpID: "wwother", UserID: "zhangsan", ExternalUserID: "wm1", Status: "Disagree", ChangeTime: t0}
		for _, a := range []openzone.AgreeStatus{single, room, otherUser, otherCorp} {
			mustOK(t, s.AgreeUpsert(ctx, &a))
		}
		got, err := s.AgreeGetSingle(ctx, store.AgreeGetSingleParams{CorpID: "wwcorp", UserID: "zhangsan", ExternalUserID: "wm1"})
		mustOK(t, err)
		wantEqual(t, got, storedAgree(single))
		got, err = s.AgreeGetSingle(ctx, store.AgreeGetSingleParams{CorpID: "wwother", UserID: "zhangsan", ExternalUserID: "wm1"})
		mustOK(t, err)
		wantEqual(t, got, storedAgree(otherCorp))
		list, err := s.AgreeListRoom(ctx, "wwcorp", "wrchat")
		mustOK(t, err)
		wantEqual(t, list, []*openzone.AgreeStatus{storedAgree(room)})
		// Single records are no room's.
		list, err = s.AgreeListRoom(ctx, "wwcorp", "")
		mustOK(t, err)
		wantEqual(t, len(list), 0)
	})
	t.Run("ListRoom", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		var want []*openzone.AgreeStatus
		for _, a := range []openzone.AgreeStatus{
			{CorpID: "wwcorp", ChatID: "wr1", ExternalUserID: "wmc", Status: "Agree", ChangeTime: t0},
			{CorpID: "wwcorp", ChatID: "wr1", ExternalUserID: "wma", Status: "Disagree", ChangeTime: t0.Add(time.Second)},
			{CorpID: "wwcorp", ChatID: "wr1", ExternalUserID: "wmb", Status: "Agree"},
			{CorpID: "wwcorp", ChatID: "wr2", ExternalUserID: "wma", Status: "Agree", ChangeTime: t0},
			{CorpID: "wwother", ChatID: "wr1", ExternalUserID: "wmz", Status: "Agree", ChangeTime: t0},
			{CorpID: "wwcorp", UserID: "u", ExternalUserID: "wm0", Status: "Agree", ChangeTime: t0},
		} {
			mustOK(t, s.AgreeUpsert(ctx, &a))
			want = append(want, storedAgree(a))
		}
		got, err := s.AgreeListRoom(ctx, "wwcorp", "wr1")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.AgreeStatus{want[1], want[2], want[0]})
		got, err = s.AgreeListRoom(ctx, "wwcorp", "wr2")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.AgreeStatus{want[3]})
		got, err = s.AgreeListRoom(ctx, "wwcorp", "nope")
		mustOK(t, err)
		wantEqual(t, len(got), 0)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.AgreeUpsert(ctx, &openzone.AgreeStatus{CorpID: "wwcorp", UserID: "u", ExternalUserID: "wm", Status: "Agree"}))
		mustOK(t, s.AgreeUpsert(ctx, &openzone.AgreeStatus{CorpID: "wwcorp", ChatID: "wr", ExternalUserID: "wm2", Status: "Agree"}))
		for _, tc := range []struct{ name, corp, user, ext string }{
			{"OtherUser", "wwcorp", "v", "wm"},
			{"OtherExternal", "wwcorp", "u", "wm-other"},
			{"OtherCorp", "nope", "u", "wm"},
			{"RoomRecord", "wwcorp", "", "wm2"},
		} {
			_, err := s.AgreeGetSingle(ctx, store.AgreeGetSingleParams{CorpID: tc.corp, UserID: tc.user, ExternalUserID: tc.ext})
			if openzone.ErrorCode(err) != openzone.ErrNotFound {
				t.Errorf("%s: ErrorCode = %d (err %v), want %d", tc.name, openzone.ErrorCode(err), err, openzone.ErrNotFound)
			}
		}
		wantCode(t, s.AgreeUpsert(ctx, &openzone.AgreeStatus{CorpID: "nope", UserID: "u", ExternalUserID: "wm", Status: "Agree"}), openzone.ErrNotFound)
		wantCode(t, s.AgreeUpsert(ctx, &openzone.AgreeStatus{CorpID: "nope", ChatID: "wr", ExternalUserID: "wm", Status: "Agree"}), openzone.ErrNotFound)
	})
}

func storedPublicKey(k openzone.AppPublicKey) *openzone.AppPublicKey {
	k.SetAt = ms(k.SetAt)
	return &k
}

func testAppPublicKey(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Put", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		pem := func(v int) string {
			return fmt.Sprintf("-----BEGIN PUBLIC KEY-----\nkey %d\n-----END PUBLIC KEY-----\n", v)
		}
		// The first key fixes SetAt and StartSeq; later ones only replace
		// Ver and PEM.
		first := openzone.AppPublicKey{CorpID: f.app.CorpID, AgentID: f.app.AgentID, Ver: 1, PEM: pem(1), SetAt: t0, StartSeq: 42}
		steps := []struct {
			name    string
			ver     int
			code    int
			wantVer int
		}{
			{"First", 1, 0, 1},
			{"Higher", 3, 0, 3},
			{"Equal", 3, openzone.ErrConflict, 3},
			{"Lower", 2, openzone.ErrConflict, 3},
			{"HigherAgain", 4, 0, 4},
		}
		for i, st := range steps {
			k := openzone.AppPublicKey{CorpID: f.app.CorpID, AgentID: f.app.AgentID, Ver: st.ver, PEM: pem(st.ver),
				SetAt: t0.Add(time.Duration(i) * time.Hour), StartSeq: int64(42 + i)}
			err := s.AppPublicKeyPut(ctx, &k)
			if got := openzone.ErrorCode(err); got != st.code {
				t.Fatalf("%s: ErrorCode = %d (err %v), want %d", st.name, got, err, st.code)
			}
			got, err := s.AppPublicKeyGet(ctx, f.app.CorpID, f.app.AgentID)
			mustOK(t, err)
			want := first
			want.Ver, want.PEM = st.wantVer, pem(st.wantVer)
			wantEqual(t, got, storedPublicKey(want))
		}
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		got, err := s.AppPublicKeyList(ctx, "wwcorp")
		mustOK(t, err)
		wantEqual(t, len(got), 0)

		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		for _, a := range []*openzone.App{
			{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt},
			{CorpID: "wwcorp", AgentID: 20000000, Type: openzone.AppSelfBuilt},
			{CorpID: "wwcorp", AgentID: 7, Type: openzone.AppSelfBuilt}, // no key: not listed
			{CorpID: "wwother", AgentID: 5, Type: openzone.AppSelfBuilt},
		} {
			mustOK(t, s.AppUpsert(ctx, a))
		}
		// Agent ids sort as numbers, not text.
		var want []*openzone.AppPublicKey
		for _, k := range []openzone.AppPublicKey{
			{CorpID: "wwcorp", AgentID: 20000000, Ver: 1, PEM: "c", SetAt: t0, StartSeq: 3},
			{CorpID: "wwcorp", AgentID: f.app.AgentID, Ver: 2, PEM: "b", SetAt: t0, StartSeq: 2},
			{CorpID: "wwcorp", AgentID: 5, Ver: 1, PEM: "a", SetAt: t0.Add(time.Second)},
			{CorpID: "wwother", AgentID: 5, Ver: 1, PEM: "o", SetAt: t0},
		} {
			mustOK(t, s.AppPublicKeyPut(ctx, &k))
			want = append(want, storedPublicKey(k))
		}
		got, err = s.AppPublicKeyList(ctx, "wwcorp")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.AppPublicKey{want[2], want[1], want[0]})
		got, err = s.AppPublicKeyList(ctx, "wwother")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.AppPublicKey{want[3]})
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		_, err := s.AppPublicKeyGet(ctx, f.app.CorpID, f.app.AgentID) // the app exists, its key does not
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.AppPublicKeyPut(ctx, &openzone.AppPublicKey{CorpID: f.app.CorpID, AgentID: 1, Ver: 1, PEM: "p", SetAt: t0}), openzone.ErrNotFound)
		wantCode(t, s.AppPublicKeyPut(ctx, &openzone.AppPublicKey{CorpID: "nope", AgentID: f.app.AgentID, Ver: 1, PEM: "p", SetAt: t0}), openzone.ErrNotFound)
		_, err = s.AppPublicKeyGet(ctx, f.app.CorpID, 1)
		wantCode(t, err, openzone.ErrNotFound)
	})
}

func storedRule(r openzone.KeywordRule) *openzone.KeywordRule {
	r.CreateTime = ms(r.CreateTime)
	r.Body = nilIfEmpty(r.Body)
	return &r
}

func testKeywordRule(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		for _, r := range []openzone.KeywordRule{
			{CorpID: f.app.CorpID, AgentID: f.app.AgentID, RuleID: "r1", Name: "敏感词",
				// Kept byte for byte.
				Body:       json.RawMessage(`{ "name":"敏感词", "keyword" : {"word_list":["a","b"]},"semantics":{"semantics_list":[1,2]} }`),
				CreateTime: t0},
			{CorpID: f.app.CorpID, AgentID: f.app.AgentID, RuleID: "r2", Body: json.RawMessage{}, CreateTime: t0},
		} {
			mustOK(t, s.KeywordRuleInsert(ctx, &r, 0))
			got, err := s.KeywordRuleGet(ctx, store.KeywordRuleGetParams{CorpID: r.CorpID, AgentID: r.AgentID, RuleID: r.RuleID})
			mustOK(t, err)
			wantEqual(t, got, storedRule(r))
			if !bytes.Equal(got.Body, r.Body) {
				t.Fatalf("Body changed: %q, put %q", got.Body, r.Body)
			}
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		r := openzone.KeywordRule{CorpID: f.app.CorpID, AgentID: f.app.AgentID, RuleID: "r1", Name: "first", Body: json.RawMessage(`{}`), CreateTime: t0}
		mustOK(t, s.KeywordRuleInsert(ctx, &r, 0))
		dup := r
		dup.Name, dup.CreateTime = "second", t0.Add(time.Hour)
		wantCode(t, s.KeywordRuleInsert(ctx, &dup, 0), openzone.ErrConflict)
		got, err := s.KeywordRuleGet(ctx, store.KeywordRuleGetParams{CorpID: r.CorpID, AgentID: r.AgentID, RuleID: "r1"})
		mustOK(t, err)
		wantEqual(t, got, storedRule(r))
		// The same rule id in another app is another rule.
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt}))
		dup.AgentID = 5
		mustOK(t, s.KeywordRuleInsert(ctx, &dup, 0))
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		r := openzone.KeywordRule{CorpID: f.app.CorpID, AgentID: f.app.AgentID, RuleID: "r1", Name: "old", Body: json.RawMessage(`{"v":1}`), CreateTime: t0}
		mustOK(t, s.KeywordRuleInsert(ctx, &r, 0))
		upd := r
		upd.Name, upd.Body, upd.CreateTime = "new", json.RawMessage(`{"v": 2}`), t0.Add(time.Hour)
		mustOK(t, s.KeywordRuleUpdate(ctx, &upd))
		got, err := s.KeywordRuleGet(ctx, store.KeywordRuleGetParams{CorpID: r.CorpID, AgentID: r.AgentID, RuleID: "r1"})
		mustOK(t, err)
		want := upd
		want.CreateTime = r.CreateTime // only Name and Body change
		wantEqual(t, got, storedRule(want))

		missing := upd
		missing.RuleID = "nope"
		wantCode(t, s.KeywordRuleUpdate(ctx, &missing), openzone.ErrNotFound)
		missing = upd
		missing.AgentID = 1
		wantCode(t, s.KeywordRuleUpdate(ctx, &missing), openzone.ErrNotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c, ag := f.app.CorpID, f.app.AgentID
		for _, id := range []string{"r1", "r2"} {
			mustOK(t, s.KeywordRuleInsert(ctx, &openzone.KeywordRule{CorpID: c, AgentID: ag, RuleID: id, CreateTime: t0}, 0))
		}
		mustOK(t, s.KeywordRuleDelete(ctx, store.KeywordRuleDeleteParams{CorpID: c, AgentID: ag, RuleID: "r1"}))
		_, err := s.KeywordRuleGet(ctx, store.KeywordRuleGetParams{CorpID: c, AgentID: ag, RuleID: "r1"})
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.KeywordRuleDelete(ctx, store.KeywordRuleDeleteParams{CorpID: c, AgentID: ag, RuleID: "r1"}), openzone.ErrNotFound)
		wantCode(t, s.KeywordRuleDelete(ctx, store.KeywordRuleDeleteParams{CorpID: c, AgentID: 1, RuleID: "r2"}), openzone.ErrNotFound)
		got, err := s.KeywordRuleList(ctx, c, ag)
		mustOK(t, err)
		wantEqual(t, ids(got, func(r *openzone.KeywordRule) string { return r.RuleID }), []string{"r2"})
		// A deleted rule id may be used again.
		mustOK(t, s.KeywordRuleInsert(ctx, &openzone.KeywordRule{CorpID: c, AgentID: ag, RuleID: "r1", CreateTime: t0}, 0))
	})
	t.Run("Max", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c, ag := f.app.CorpID, f.app.AgentID
		// 20 concurrent inserts against a limit of 5: exactly 5 land.
		errs := make(chan error, 20)
		for i := range 20 {
			go func() {
				errs <- s.KeywordRuleInsert(ctx, &openzone.KeywordRule{CorpID: c, AgentID: ag, RuleID: fmt.Sprintf("m%d", i), CreateTime: t0}, 5)
			}()
		}
		okN := 0
		for range 20 {
			err := <-errs
			if err == nil {
				okN++
				continue
			}
			wantCode(t, err, openzone.ErrTooManyRules)
		}
		wantEqual(t, okN, 5)
		got, err := s.KeywordRuleList(ctx, c, ag)
		mustOK(t, err)
		wantEqual(t, len(got), 5)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c, ag := f.app.CorpID, f.app.AgentID
		got, err := s.KeywordRuleList(ctx, c, ag)
		mustOK(t, err)
		wantEqual(t, len(got), 0)
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt}))
		for _, r := range []struct {
			agent int64
			id    string
			at    time.Duration
		}{
			{ag, "r-late", 2 * time.Second},
			{ag, "r-b", time.Second},
			{ag, "r-a", time.Second}, // same time as r-b: rule id breaks the tie
			{ag, "r-z", 0},
			{5, "r-other", 0},
		} {
			mustOK(t, s.KeywordRuleInsert(ctx, &openzone.KeywordRule{CorpID: c, AgentID: r.agent, RuleID: r.id, CreateTime: t0.Add(r.at)}, 0))
		}
		got, err = s.KeywordRuleList(ctx, c, ag)
		mustOK(t, err)
		wantEqual(t, ids(got, func(r *openzone.KeywordRule) string { return r.RuleID }), []string{"r-z", "r-a", "r-b", "r-late"})
		got, err = s.KeywordRuleList(ctx, c, 5)
		mustOK(t, err)
		wantEqual(t, ids(got, func(r *openzone.KeywordRule) string { return r.RuleID }), []string{"r-other"})
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		_, err := s.KeywordRuleGet(ctx, store.KeywordRuleGetParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, RuleID: "nope"})
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.KeywordRuleInsert(ctx, &openzone.KeywordRule{CorpID: f.app.CorpID, AgentID: 1, RuleID: "r", CreateTime: t0}, 0), openzone.ErrNotFound)
		wantCode(t, s.KeywordRuleInsert(ctx, &openzone.KeywordRule{CorpID: "nope", AgentID: f.app.AgentID, RuleID: "r", CreateTime: t0}, 0), openzone.ErrNotFound)
	})
}

func storedHit(h openzone.KeywordHit) *openzone.KeywordHit {
	h.Created = ms(h.Created)
	h.Semantics = nilIfEmpty(h.Semantics)
	return &h
}

func testKeywordHit(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		var want []*openzone.KeywordHit
		var prev int64
		// The rule need not exist: hits outlive their rule.
		for _, h := range []openzone.KeywordHit{
			{CorpID: f.app.CorpID, AgentID: f.app.AgentID, MsgID: "m1", RuleID: "r1", HasHitKeyword: true, Semantics: []int{3, 1, 2}, Created: t0},
			{CorpID: f.app.CorpID, AgentID: f.app.AgentID, MsgID: "m2", RuleID: "r1", Semantics: []int{}, Created: t0},
			{CorpID: f.app.CorpID, AgentID: f.app.AgentID, MsgID: "m3", RuleID: "r2", HasHitKeyword: true, Created: t0.Add(time.Second)},
		} {
			mustOK(t, s.KeywordHitInsert(ctx, &h))
			if h.Seq <= prev {
				t.Fatalf("KeywordHitInsert set Seq %d, want above %d", h.Seq, prev)
			}
			prev = h.Seq
			want = append(want, storedHit(h))
		}
		got, err := s.KeywordHitList(ctx, store.KeywordHitListParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, AfterSeq: 0, Limit: 0})
		mustOK(t, err)
		wantEqual(t, got, want)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c, ag := f.app.CorpID, f.app.AgentID
		got, err := s.KeywordHitList(ctx, store.KeywordHitListParams{CorpID: c, AgentID: ag, AfterSeq: 0, Limit: 0})
		mustOK(t, err)
		wantEqual(t, len(got), 0)
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt}))
		seq := map[string]int64{}
		for _, h := range []struct {
			agent int64
			msg   string
		}{{ag, "a"}, {5, "x"}, {ag, "b"}, {ag, "c"}, {5, "y"}, {ag, "d"}} {
			hit := &openzone.KeywordHit{CorpID: c, AgentID: h.agent, MsgID: h.msg, RuleID: "r", Created: t0}
			mustOK(t, s.KeywordHitInsert(ctx, hit))
			seq[h.msg] = hit.Seq
		}
		tests := []struct {
			name     string
			agent    int64
			afterSeq int64
			limit    int
			want     []string
		}{
			{"All", ag, 0, 0, []string{"a", "b", "c", "d"}},
			{"OtherApp", 5, 0, 0, []string{"x", "y"}},
			{"AfterSeq", ag, seq["b"], 0, []string{"c", "d"}},
			{"AfterOtherAppsSeq", ag, seq["x"], 0, []string{"b", "c", "d"}},
			{"AfterLast", ag, seq["d"], 0, []string{}},
			{"Limit", ag, seq["a"], 2, []string{"b", "c"}},
			{"UnknownApp", 1, 0, 0, []string{}},
		}
		for _, tc := range tests {
			got, err := s.KeywordHitList(ctx, store.KeywordHitListParams{CorpID: c, AgentID: tc.agent, AfterSeq: tc.afterSeq, Limit: tc.limit})
			mustOK(t, err)
			if msgs := ids(got, func(h *openzone.KeywordHit) string { return h.MsgID }); !reflect.DeepEqual(msgs, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, msgs, tc.want)
			}
		}
	})
	t.Run("ListLimits", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.InTx(ctx, func(e store.Executor) error {
			for i := range 1005 {
				if err := e.KeywordHitInsert(ctx, &openzone.KeywordHit{CorpID: f.app.CorpID, AgentID: f.app.AgentID,
					MsgID: fmt.Sprint("m", i), RuleID: "r", Created: t0}); err != nil {
					return err
				}
			}
			return nil
		}))
		for _, tc := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {7, 7}, {1000, 1000}, {1001, 1001}, {5000, 1005}} {
			got, err := s.KeywordHitList(ctx, store.KeywordHitListParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, AfterSeq: 0, Limit: tc.limit})
			mustOK(t, err)
			if len(got) != tc.want {
				t.Errorf("limit %d: got %d hits, want %d", tc.limit, len(got), tc.want)
			} else if got[0].MsgID != "m0" {
				t.Errorf("limit %d: first is %q, want the oldest, m0", tc.limit, got[0].MsgID)
			}
		}
	})
	t.Run("OutliveRule", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c, ag := f.app.CorpID, f.app.AgentID
		mustOK(t, s.KeywordRuleInsert(ctx, &openzone.KeywordRule{CorpID: c, AgentID: ag, RuleID: "r1", CreateTime: t0}, 0))
		mustOK(t, s.KeywordHitInsert(ctx, &openzone.KeywordHit{CorpID: c, AgentID: ag, MsgID: "m", RuleID: "r1", Created: t0}))
		mustOK(t, s.KeywordRuleDelete(ctx, store.KeywordRuleDeleteParams{CorpID: c, AgentID: ag, RuleID: "r1"}))
		got, err := s.KeywordHitList(ctx, store.KeywordHitListParams{CorpID: c, AgentID: ag, AfterSeq: 0, Limit: 0})
		mustOK(t, err)
		wantEqual(t, len(got), 1)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		h := &openzone.KeywordHit{CorpID: f.app.CorpID, AgentID: 1, MsgID: "m", RuleID: "r", Created: t0}
		wantCode(t, s.KeywordHitInsert(ctx, h), openzone.ErrNotFound)
		wantEqual(t, h.Seq, int64(0))
		h.CorpID, h.AgentID = "nope", f.app.AgentID
		wantCode(t, s.KeywordHitInsert(ctx, h), openzone.ErrNotFound)
	})
}

func testEventToken(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		for _, want := range []openzone.EventToken{
			{Token: "ev-1", CorpID: f.app.CorpID, AgentID: f.app.AgentID, Kind: "sync_msg", FromSeq: 1234567, ExpiresAt: t0},
			{Token: "ev-2", CorpID: f.app.CorpID, AgentID: f.app.AgentID, Kind: "hit", ExpiresAt: t0.Add(10 * time.Minute)},
		} {
			tok := want
			mustOK(t, s.EventTokenInsert(ctx, &tok))
			got, err := s.EventTokenGet(ctx, want.Token)
			mustOK(t, err)
			want.ExpiresAt = ms(want.ExpiresAt)
			wantEqual(t, got, &want)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		tok := &openzone.EventToken{Token: "ev", CorpID: f.app.CorpID, AgentID: f.app.AgentID, Kind: "sync_msg", ExpiresAt: t0}
		mustOK(t, s.EventTokenInsert(ctx, tok))
		dup := *tok
		dup.Kind = "hit"
		wantCode(t, s.EventTokenInsert(ctx, &dup), openzone.ErrConflict)
		got, err := s.EventTokenGet(ctx, "ev")
		mustOK(t, err)
		wantEqual(t, got.Kind, "sync_msg")
		_, err = s.EventTokenGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.EventTokenInsert(ctx, &openzone.EventToken{Token: "ev2", CorpID: f.app.CorpID, AgentID: 1, Kind: "hit", ExpiresAt: t0}), openzone.ErrNotFound)
		wantCode(t, s.EventTokenInsert(ctx, &openzone.EventToken{Token: "ev3", CorpID: "nope", AgentID: f.app.AgentID, Kind: "hit", ExpiresAt: t0}), openzone.ErrNotFound)
	})
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c, ag := f.app.CorpID, f.app.AgentID
		mustOK(t, s.EventTokenInsert(ctx, &openzone.EventToken{Token: "old", CorpID: c, AgentID: ag, Kind: "hit", ExpiresAt: t0}))
		mustOK(t, s.EventTokenInsert(ctx, &openzone.EventToken{Token: "live", CorpID: c, AgentID: ag, Kind: "hit", ExpiresAt: t0.Add(time.Second)}))
		// Until pruned, an expired token is still returned.
		_, err := s.EventTokenGet(ctx, "old")
		mustOK(t, err)
		mustOK(t, s.Prune(ctx, t0))
		_, err = s.EventTokenGet(ctx, "old")
		wantCode(t, err, openzone.ErrNotFound)
		_, err = s.EventTokenGet(ctx, "live")
		mustOK(t, err)
	})
}

func storedEvent(e openzone.Event) *openzone.Event {
	e.CreatedAt, e.DeliveredAt = ms(e.CreatedAt), ms(e.DeliveredAt)
	e.FailingSince, e.SteppedAsideAt = ms(e.FailingSince), ms(e.SteppedAsideAt)
	e.Data = nilIfEmpty(e.Data)
	return &e
}

func testEvent(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			ev   openzone.Event
		}{
			{"Delivered", openzone.Event{ID: "ev-1", CorpID: "wwcorp", AgentID: 1000002, ProgramID: "prog-a",
				Type: "conversation_new_message", Data: json.RawMessage(`{"token" : "t",  "corpid":"wwcorp"}`),
				State: openzone.EventDelivered, Attempts: 2, LastError: "first try: 502", CreatedAt: t0, DeliveredAt: t0.Add(time.Second)}},
			{"Pending", openzone.Event{ID: "ev-2", CorpID: "wwcorp", AgentID: 1000002, ProgramID: "prog-a",
				Type: "hit_keyword", Data: json.RawMessage(`{}`), State: openzone.EventPending, CreatedAt: t0}},
			{"SteppedAside", openzone.Event{ID: "ev-4", CorpID: "wwcorp", ProgramID: "prog-a", Data: json.RawMessage(`{}`),
				State: openzone.EventPending, Attempts: 7, LastError: "stepped aside", CreatedAt: t0,
				FailingSince: t0.Add(time.Second), SteppedAsideAt: t0.Add(time.Minute), JobID: 42}},
			{"Empty", openzone.Event{ID: "ev-3", Data: json.RawMessage{}, State: openzone.EventFailed, CreatedAt: t0}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				// No foreign keys: an empty store takes events for unknown
				// corps, apps and programs.
				s, ctx := open(t), t.Context()
				ev := tc.ev
				mustOK(t, s.EventInsert(ctx, &ev))
				got, err := s.EventGet(ctx, ev.ID)
				mustOK(t, err)
				wantEqual(t, got, storedEvent(tc.ev))
				if !bytes.Equal(got.Data, tc.ev.Data) {
					t.Fatalf("Data changed: %q, put %q", got.Data, tc.ev.Data)
				}
				if got.DeliveredAt.IsZero() != tc.ev.DeliveredAt.IsZero() {
					t.Fatalf("DeliveredAt = %v, put %v", got.DeliveredAt, tc.ev.DeliveredAt)
				}
			})
		}
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ev := openzone.Event{ID: "ev", CorpID: "wwcorp", AgentID: 1, ProgramID: "prog-a", Type: "t",
			Data: json.RawMessage(`{"a":1}`), State: openzone.EventPending, CreatedAt: t0}
		mustOK(t, s.EventInsert(ctx, &ev))
		steps := []struct {
			name      string
			state     string
			attempts  int
			lastError string
			delivered time.Time
			failing   time.Time
		}{
			{"Failed", openzone.EventPending, 1, "connection refused", time.Time{}, t0.Add(time.Second)},
			{"Delivered", openzone.EventDelivered, 2, "", t0.Add(time.Minute), t0.Add(time.Second)},
			{"BackToPending", openzone.EventPending, 0, "", time.Time{}, time.Time{}},
		}
		for _, st := range steps {
			// Only State, Attempts, LastError, DeliveredAt and FailingSince
			// change.
			upd := openzone.Event{ID: "ev", CorpID: "changed", AgentID: 9, ProgramID: "changed", Type: "changed",
				Data: json.RawMessage(`{"changed":true}`), CreatedAt: t0.Add(time.Hour), SteppedAsideAt: t0, JobID: 9,
				State: st.state, Attempts: st.attempts, LastError: st.lastError, DeliveredAt: st.delivered, FailingSince: st.failing}
			mustOK(t, s.EventUpdate(ctx, &upd))
			got, err := s.EventGet(ctx, "ev")
			mustOK(t, err)
			want := ev
			want.State, want.Attempts, want.LastError, want.DeliveredAt = st.state, st.attempts, st.lastError, st.delivered
			want.FailingSince = st.failing
			if !reflect.DeepEqual(got, storedEvent(want)) {
				t.Fatalf("%s: got %s\nwant %s", st.name, dump(got), dump(storedEvent(want)))
			}
		}
		wantCode(t, s.EventUpdate(ctx, &openzone.Event{ID: "nope", State: openzone.EventFailed}), openzone.ErrNotFound)
		_, err := s.EventGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("Line", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		// Line (prog-a, wwcorp), inserted out of time order; "tie-*" share
		// a millisecond, where insertion order decides.
		for _, e := range []struct {
			id, program, corp, state string
			at                       time.Duration
		}{
			{"e3", "prog-a", "wwcorp", openzone.EventPending, 3 * time.Second},
			{"e1", "prog-a", "wwcorp", openzone.EventPending, 1 * time.Second},
			{"tie-z", "prog-a", "wwcorp", openzone.EventPending, 2 * time.Second},
			{"tie-y", "prog-a", "wwcorp", openzone.EventPending, 2 * time.Second},
			{"e0-done", "prog-a", "wwcorp", openzone.EventDelivered, 0},
			{"e0-failed", "prog-a", "wwcorp", openzone.EventFailed, 0},
			{"other-corp", "prog-a", "wwother", openzone.EventPending, 0},
			{"other-prog", "prog-b", "wwcorp", openzone.EventPending, 0},
			{"e4", "prog-a", "wwcorp", openzone.EventPending, 4 * time.Second},
		} {
			mustOK(t, s.EventInsert(ctx, &openzone.Event{ID: e.id, ProgramID: e.program, CorpID: e.corp, State: e.state,
				CreatedAt: t0.Add(e.at)}))
		}
		line := func(find func(context.Context, *openzone.Event) (*openzone.Event, error), id string) string {
			t.Helper()
			ev, err := s.EventGet(ctx, id)
			mustOK(t, err)
			got, err := find(ctx, ev)
			if openzone.IsNotFound(err) {
				return ""
			}
			mustOK(t, err)
			return got.ID
		}
		check := func(name string, ahead, behind map[string]string) {
			t.Helper()
			for id, want := range ahead {
				if got := line(s.EventAhead, id); got != want {
					t.Errorf("%s: EventAhead(%s) = %q, want %q", name, id, got, want)
				}
			}
			for id, want := range behind {
				if got := line(s.EventBehind, id); got != want {
					t.Errorf("%s: EventBehind(%s) = %q, want %q", name, id, got, want)
				}
			}
		}
		check("AllPending",
			map[string]string{"e1": "", "tie-z": "e1", "tie-y": "e1", "e4": "e1", "other-corp": "", "other-prog": ""},
			map[string]string{"e1": "tie-z", "tie-z": "tie-y", "tie-y": "e3", "e3": "e4", "e4": "", "e0-done": "e1"})

		// e1 steps aside (once); delivered tie-z leaves the line.
		ok, err := s.EventStepAside(ctx, "e1", t0.Add(time.Minute), "stepped aside: 503")
		mustOK(t, err)
		wantEqual(t, ok, true)
		ok, err = s.EventStepAside(ctx, "e1", t0.Add(2*time.Minute), "again")
		mustOK(t, err)
		wantEqual(t, ok, false)
		got, err := s.EventGet(ctx, "e1")
		mustOK(t, err)
		if !got.SteppedAsideAt.Equal(ms(t0.Add(time.Minute))) || got.LastError != "stepped aside: 503" || got.State != openzone.EventPending {
			t.Fatalf("stepped aside: %s", dump(got))
		}
		// A later update of a stepped-aside event's error keeps saying so.
		got.LastError, got.Attempts = "errcode 710676: 503", 8
		mustOK(t, s.EventUpdate(ctx, got))
		got, err = s.EventGet(ctx, "e1")
		mustOK(t, err)
		wantEqual(t, got.LastError, "stepped aside: errcode 710676: 503")
		ok, err = s.EventStepAside(ctx, "e0-done", t0, "x")
		mustOK(t, err)
		wantEqual(t, ok, false) // only a pending event steps aside
		mustOK(t, s.EventUpdate(ctx, &openzone.Event{ID: "tie-z", State: openzone.EventDelivered, DeliveredAt: t0}))
		check("AfterStepAside",
			map[string]string{"e1": "", "tie-z": "", "tie-y": "", "e3": "tie-y", "e4": "tie-y"},
			map[string]string{"e1": "tie-y", "tie-y": "e3"})

		// EventWait records the job to wake, on a pending event only.
		mustOK(t, s.EventWait(ctx, "e3", 77, "held: waiting for earlier event tie-y"))
		mustOK(t, s.EventWait(ctx, "tie-z", 78, "not pending"))
		got, err = s.EventGet(ctx, "e3")
		mustOK(t, err)
		if got.JobID != 77 || got.LastError != "held: waiting for earlier event tie-y" {
			t.Fatalf("waiting: %s", dump(got))
		}
		got, err = s.EventGet(ctx, "tie-z")
		mustOK(t, err)
		if got.JobID != 0 || got.LastError != "" {
			t.Fatalf("delivered event after EventWait: %s", dump(got))
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ev := openzone.Event{ID: "ev", ProgramID: "prog-a", State: openzone.EventPending, CreatedAt: t0}
		mustOK(t, s.EventInsert(ctx, &ev))
		dup := ev
		dup.ProgramID = "prog-b"
		wantCode(t, s.EventInsert(ctx, &dup), openzone.ErrConflict)
		got, err := s.EventGet(ctx, "ev")
		mustOK(t, err)
		wantEqual(t, got, storedEvent(ev))
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		got, err := s.EventList(ctx, "", 0)
		mustOK(t, err)
		wantEqual(t, len(got), 0)
		// Inserted out of time order; "tie-a" and "tie-b" share a time and
		// come highest id first.
		for _, e := range []struct {
			id, program string
			at          time.Duration
		}{
			{"e2", "prog-a", 2 * time.Second},
			{"e1", "prog-a", 1 * time.Second},
			{"tie-b", "prog-a", 3 * time.Second},
			{"tie-a", "prog-b", 3 * time.Second},
			{"e4", "prog-b", 4 * time.Second},
		} {
			mustOK(t, s.EventInsert(ctx, &openzone.Event{ID: e.id, ProgramID: e.program, State: openzone.EventPending, CreatedAt: t0.Add(e.at)}))
		}
		tests := []struct {
			name    string
			program string
			limit   int
			want    []string
		}{
			{"All", "", 0, []string{"e4", "tie-b", "tie-a", "e2", "e1"}},
			{"Program", "prog-a", 0, []string{"tie-b", "e2", "e1"}},
			{"OtherProgram", "prog-b", 0, []string{"e4", "tie-a"}},
			{"Limit", "", 2, []string{"e4", "tie-b"}},
			{"ProgramLimit", "prog-a", 1, []string{"tie-b"}},
			{"UnknownProgram", "nope", 0, []string{}},
		}
		for _, tc := range tests {
			got, err := s.EventList(ctx, tc.program, tc.limit)
			mustOK(t, err)
			if evs := ids(got, func(e *openzone.Event) string { return e.ID }); !reflect.DeepEqual(evs, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, evs, tc.want)
			}
		}
	})
	t.Run("ListLimits", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustOK(t, s.InTx(ctx, func(e store.Executor) error {
			for i := range 1005 {
				if err := e.EventInsert(ctx, &openzone.Event{ID: fmt.Sprintf("ev-%04d", i), ProgramID: "prog-a",
					State: openzone.EventPending, CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
					return err
				}
			}
			return nil
		}))
		for _, program := range []string{"", "prog-a"} {
			for _, tc := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {7, 7}, {1000, 1000}, {1001, 1000}, {5000, 1000}} {
				got, err := s.EventList(ctx, program, tc.limit)
				mustOK(t, err)
				if len(got) != tc.want {
					t.Errorf("program %q limit %d: got %d events, want %d", program, tc.limit, len(got), tc.want)
				} else if got[0].ID != "ev-1004" {
					t.Errorf("program %q limit %d: first is %q, want the newest, ev-1004", program, tc.limit, got[0].ID)
				}
			}
		}
	})
}

func testNotify(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		for _, want := range []openzone.Notify{
			{NotifyID: "n-1", CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramID: "prog-a", Instance: "i-2",
				Scene: 3, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)},
			{NotifyID: "n-2", CorpID: f.app.CorpID, AgentID: f.app.AgentID, CreatedAt: t0, ExpiresAt: t0},
		} {
			n := want
			mustOK(t, s.NotifyInsert(ctx, &n))
			got, err := s.NotifyGet(ctx, want.NotifyID)
			mustOK(t, err)
			want.CreatedAt, want.ExpiresAt = ms(want.CreatedAt), ms(want.ExpiresAt)
			wantEqual(t, got, &want)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		n := openzone.Notify{NotifyID: "n", CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramID: "prog-a", Scene: 1,
			CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		mustOK(t, s.NotifyInsert(ctx, &n))
		dup := n
		dup.ProgramID = "prog-b"
		wantCode(t, s.NotifyInsert(ctx, &dup), openzone.ErrConflict)
		got, err := s.NotifyGet(ctx, "n")
		mustOK(t, err)
		wantEqual(t, got.ProgramID, "prog-a")
		_, err = s.NotifyGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
		bad := n
		bad.NotifyID, bad.AgentID = "n2", 1
		wantCode(t, s.NotifyInsert(ctx, &bad), openzone.ErrNotFound)
		bad.CorpID, bad.AgentID = "nope", f.app.AgentID
		wantCode(t, s.NotifyInsert(ctx, &bad), openzone.ErrNotFound)
	})
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		for _, n := range []struct {
			id  string
			exp time.Time
		}{{"old", t0}, {"live", t0.Add(time.Second)}} {
			mustOK(t, s.NotifyInsert(ctx, &openzone.Notify{NotifyID: n.id, CorpID: f.app.CorpID, AgentID: f.app.AgentID,
				CreatedAt: t0.Add(-time.Minute), ExpiresAt: n.exp}))
		}
		mustOK(t, s.Prune(ctx, t0))
		_, err := s.NotifyGet(ctx, "old")
		wantCode(t, err, openzone.ErrNotFound)
		_, err = s.NotifyGet(ctx, "live")
		mustOK(t, err)
	})
}
