package supervisor

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/openzone/openzone/internal/filename"
)

// logbook keeps the last lines of one program's log in a ring and appends
// every line to the program's log file when there is one.
type logbook struct {
	programID string

	mu    sync.Mutex
	lines []LogLine // ring of at most max lines; the oldest at start once full
	start int
	max   int
	path  string   // "" = memory only
	file  *os.File // opened on first write
	final bool     // the supervisor has shut down: no more file writes
}

func newLogbook(max int, dir, programID string) *logbook {
	b := &logbook{programID: programID, max: max}
	if dir != "" {
		b.path = filepath.Join(dir, filename.Safe(programID)+".log")
	}
	return b
}

func (b *logbook) add(l LogLine) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addLocked(l)
	if b.path == "" || b.final {
		return
	}
	if b.file == nil {
		err := os.MkdirAll(filepath.Dir(b.path), 0o755)
		if err == nil {
			b.file, err = os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		}
		if err != nil {
			b.path = "" // keep going in memory; say so once
			b.addLocked(LogLine{Time: time.Now(), Stream: StreamZone, Text: "log file disabled: " + err.Error()})
			return
		}
	}
	inst := l.Instance
	if inst == "" {
		inst = "-"
	}
	fmt.Fprintf(b.file, "%s %s %s %s\n", l.Time.Format(time.RFC3339Nano), inst, l.Stream, l.Text)
}

func (b *logbook) addLocked(l LogLine) {
	if len(b.lines) < b.max {
		b.lines = append(b.lines, l)
		return
	}
	b.lines[b.start] = l
	b.start = (b.start + 1) % b.max
}

// tail returns the last n lines (all when n <= 0), oldest first.
func (b *logbook) tail(n int) []LogLine {
	b.mu.Lock()
	defer b.mu.Unlock()
	total := len(b.lines)
	if n <= 0 || n > total {
		n = total
	}
	out := make([]LogLine, 0, n)
	for i := total - n; i < total; i++ {
		out = append(out, b.lines[(b.start+i)%total])
	}
	return out
}

// closeFile closes the log file; it is opened again on the next line unless
// final.
func (b *logbook) closeFile(final bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file != nil {
		b.file.Close()
		b.file = nil
	}
	b.final = b.final || final
}

// readLines reads r to its end and calls emit for each line, without the
// line end. Lines longer than max bytes are split into pieces of at most max
// bytes (at a UTF-8 boundary when possible). It never stops reading while
// emit is fast, so the writer never blocks on a full pipe.
func readLines(r io.Reader, max int, emit func(string)) {
	buf := make([]byte, 32*1024)
	var pending []byte
	for {
		n, err := r.Read(buf)
		pending = append(pending, buf[:n]...)
		off := 0
		for {
			rest := pending[off:]
			if i := bytes.IndexByte(rest, '\n'); i >= 0 && i <= max {
				emit(string(bytes.TrimSuffix(rest[:i], []byte("\r"))))
				off += i + 1
				continue
			}
			if len(rest) > max { // no line end within max+1 bytes
				cut := utf8Cut(rest, max)
				emit(string(rest[:cut]))
				off += cut
				continue
			}
			break
		}
		pending = append(pending[:0], pending[off:]...)
		if err != nil {
			if len(pending) > 0 {
				emit(string(bytes.TrimSuffix(pending, []byte("\r"))))
			}
			return
		}
	}
}

// utf8Cut returns where to cut p (len(p) > max) so that the first piece has
// at most max bytes and, if possible, does not split a rune.
func utf8Cut(p []byte, max int) int {
	for cut := max; cut > max-utf8.UTFMax && cut > 0; cut-- {
		if utf8.RuneStart(p[cut]) {
			return cut
		}
	}
	return max
}
