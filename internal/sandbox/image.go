package sandbox

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/openzone/openzone"
)

// An image is the tarball of a container's filesystem (what `docker export`
// writes, which WeCom's console takes), plain or gzipped. The zone unpacks
// it once per content into <images>/<digest>/rootfs and runs instances on
// a copy-on-write layer over it, so an image stays as uploaded.

// digestOf returns the name of an image's folder: its content's SHA-256.
func digestOf(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256-" + hex.EncodeToString(h.Sum(nil))[:32], nil
}

// unpackImage unpacks the tarball at src into dir/<digest>/rootfs unless
// it is there already, and returns the digest. It unpacks into a temporary
// folder and renames it into place, so a crash never leaves half an
// image. owner, when >= 0, becomes the owner of every file (the host uid
// of the image's root under a root zone).
func unpackImage(src, dir string, owner int) (string, error) {
	digest, err := digestOf(src)
	if err != nil {
		return "", imageError(src, err)
	}
	final := filepath.Join(dir, digest)
	if _, err := os.Stat(filepath.Join(final, "rootfs")); err == nil {
		return digest, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, digest+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return "", err
	}
	if err := untar(src, rootfs, owner); err != nil {
		return "", imageError(src, err)
	}
	if owner >= 0 {
		if err := os.Lchown(rootfs, owner, owner); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, "rootfs")); serr == nil {
			return digest, nil // unpacked meanwhile by another zone on this data directory
		}
		return "", err
	}
	return digest, nil
}

func imageError(src string, err error) error {
	return openzone.Wrap(openzone.ErrInvalidParam, err, "deploy.image %s: %v", src, err)
}

// untar writes the archive at src into dir, confined to it: no entry, and
// no symlink an entry goes through, may reach outside.
func untar(src, dir string, owner int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	type dirMode struct {
		name string
		mode fs.FileMode
	}
	var dirs []dirMode // applied last: a read-only folder must first be filled
	entries := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if entries == 0 {
				return fmt.Errorf("not a tar archive (docker export writes one): %w", err)
			}
			return err
		}
		entries++
		name, ok := entryName(h.Name)
		if !ok {
			return fmt.Errorf("entry %q leaves the archive's root", h.Name)
		}
		if name == "." || strings.HasPrefix(path.Base(name), ".wh.") {
			continue // the root itself; whiteouts belong to layers, not exports
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", name, err)
			}
			dirs = append(dirs, dirMode{name, mode})
		case tar.TypeReg:
			if err := writeEntry(root, name, tr, mode); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case tar.TypeSymlink:
			root.Remove(name)
			if err := root.Symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case tar.TypeLink:
			target, ok := entryName(h.Linkname)
			if !ok {
				return fmt.Errorf("hard link %s → %s leaves the archive's root", name, h.Linkname)
			}
			root.Remove(name)
			if err := root.Link(target, name); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		default:
			continue // devices and fifos: a sandbox gets its own /dev
		}
		if owner >= 0 {
			if err := root.Lchown(name, owner, owner); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if entries == 0 {
		return errors.New("the archive is empty")
	}
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := root.Chmod(d.name, d.mode&fs.ModePerm|d.mode&(fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
	}
	return nil
}

// entryName cleans an archive path into a relative one ("./usr/bin/x" →
// "usr/bin/x"); ok is false for one that climbs out ("../x").
func entryName(name string) (string, bool) {
	name = path.Clean("/" + strings.TrimPrefix(name, "./"))
	if strings.Contains(name, "/../") || strings.HasSuffix(name, "/..") {
		return "", false
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "."
	}
	return name, true
}

func writeEntry(root *os.Root, name string, r io.Reader, mode fs.FileMode) error {
	root.Remove(name) // a later entry wins, as with tar itself
	f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Chmod(name, mode&fs.ModePerm|mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

// WriteImage writes the tarball of a container filesystem at path: the
// entries of the tarball base first, when base is not "", then files
// (name inside the image → content; a name ending in "/" is a folder).
// Files named in exec are executable. Tests and the bench build their
// images with it.
func WriteImage(path, base string, files map[string][]byte, exec ...string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	if base != "" {
		if err := copyTar(tw, base); err != nil {
			return fmt.Errorf("%s: %w", base, err)
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		} else if slices.Contains(exec, n) {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return out.Close()
}

func copyTar(tw *tar.Writer, path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
