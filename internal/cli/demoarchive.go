package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// The demo app's archive set-up: what a real app does once (set_public_key,
// set_receive_callback) so that a message archived in the demo raises
// conversation_new_message for prog-echo, as the README says.
const (
	demoCorp, demoAgent = "wwdemo", 1000002
	demoReceiver        = "prog-echo"
	demoKeyFile         = "demo-app-key.pem"
)

// setUpDemoArchive gives the demo app a public key (its private key kept in
// the data directory, for examples/zoneapp --key) and prog-echo as its
// receiving program. It keeps a key the zone already has. It returns the
// private key's path.
func setUpDemoArchive(r *remote, dataDir string) (string, error) {
	keyPath, err := filepath.Abs(filepath.Join(dataDir, demoKeyFile))
	if err != nil {
		return "", err
	}
	tok, err := r.appToken(demoCorp, demoAgent)
	if err != nil {
		return "", err
	}
	var keys struct {
		PublicKeys []struct {
			AgentID int64 `json:"agentid"`
		} `json:"public_keys"`
	}
	if err := r.admin("GET", "/admin/v1/corps/"+demoCorp+"/public_keys", nil, nil, "", &keys); err != nil {
		return "", err
	}
	has := false
	for _, k := range keys.PublicKeys {
		has = has || k.AgentID == demoAgent
	}
	if !has {
		pub, err := demoKey(keyPath)
		if err != nil {
			return "", err
		}
		if err := r.appPost(tok, "set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}, nil); err != nil {
			return "", fmt.Errorf("set_public_key: %w", err)
		}
	}
	if err := r.appPost(tok, "set_receive_callback", map[string]any{"program_id": demoReceiver}, nil); err != nil {
		return "", fmt.Errorf("set_receive_callback: %w", err)
	}
	return keyPath, nil
}

// demoKey loads the RSA key at path, or makes one (mode 0600), and returns
// its public half in PEM, as set_public_key takes it.
func demoKey(path string) (string, error) {
	var key *rsa.PrivateKey
	if b, err := os.ReadFile(path); err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return "", fmt.Errorf("%s is not a PEM file", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok {
			return "", fmt.Errorf("%s holds no PKCS#8 RSA private key", path)
		}
		key = rk
	} else if errors.Is(err, os.ErrNotExist) {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return "", err
		}
	} else {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// explainNoEvents says why a message archived in corp raised no event and
// what to run: events go to the receiving program of every app of the corp
// that has set a public key.
func explainNoEvents(r *remote, corp string) string {
	var apps struct {
		Apps []struct {
			AgentID          int64  `json:"agentid"`
			ReceiveProgramID string `json:"receive_program_id"`
		} `json:"apps"`
	}
	var keys struct {
		PublicKeys []struct {
			AgentID int64 `json:"agentid"`
		} `json:"public_keys"`
	}
	c := url.PathEscape(corp)
	if r.admin("GET", "/admin/v1/corps/"+c+"/apps", nil, nil, "", &apps) != nil || r.admin("GET", "/admin/v1/corps/"+c+"/public_keys", nil, nil, "", &keys) != nil {
		return ""
	}
	keyed := map[int64]bool{}
	for _, k := range keys.PublicKeys {
		keyed[k.AgentID] = true
	}
	if len(apps.Apps) == 0 {
		return fmt.Sprintf("no event: corp %s has no app to receive one", corp)
	}
	a := apps.Apps[0]
	for _, app := range apps.Apps {
		if keyed[app.AgentID] && app.ReceiveProgramID != "" {
			return "" // a receiving app exists: the message was outside its scope, or not new
		}
	}
	switch {
	case !keyed[a.AgentID] && a.ReceiveProgramID == "":
		return fmt.Sprintf("no event: no app of corp %s has both a public key (set_public_key) and a receiving program (set_receive_callback); e.g. for app %d:\n"+
			"  openzone api set_receive_callback '{\"program_id\":\"PROGRAM\"}' --corp %s --agent %d\n"+
			"  and set_public_key with your key (or run examples/zoneapp with --gen-key --set-key)", corp, a.AgentID, corp, a.AgentID)
	case !keyed[a.AgentID]:
		return fmt.Sprintf("no event: app %d of corp %s receives events through %s but has no public key: archiving starts with set_public_key (openzone api set_public_key, or examples/zoneapp --gen-key --set-key)", a.AgentID, corp, a.ReceiveProgramID)
	default:
		return fmt.Sprintf("no event: app %d of corp %s has a public key but no receiving program: openzone api set_receive_callback '{\"program_id\":\"PROGRAM\"}' --corp %s --agent %d", a.AgentID, corp, corp, a.AgentID)
	}
}
