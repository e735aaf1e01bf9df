package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	_ "unsafe" // go:linkname

	"github.com/cert-manager/cert-manager/pkg/acme/accounts"
	acmecl "github.com/cert-manager/cert-manager/pkg/acme/client"
	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver"
	"github.com/cert-manager/cert-manager/pkg/metrics"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	acmeapi "github.com/cert-manager/cert-manager/third_party/forked/acme"
	"github.com/go-logr/logr"
	"github.com/traefik/traefik/v3/pkg/config/dynamic"
	"k8s.io/utils/clock"
	"sigs.k8s.io/yaml"
)

// challengeHandler is the HTTP handler of cert-manager's acmesolver (the pod cert-manager starts
// for an HTTP-01 challenge). Its Listen binds every interface, so the harness serves the same
// handler on loopback instead.
//
//go:linkname challengeHandler github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver.(*HTTP01Solver).challengeHandler
func challengeHandler(h *solver.HTTP01Solver, log logr.Logger) http.HandlerFunc

type issued struct {
	Serial       string    `json:"serial"`
	DNSNames     []string  `json:"dnsNames"`
	Issuer       string    `json:"issuer"`
	NotBefore    time.Time `json:"notBefore"`
	NotAfter     time.Time `json:"notAfter"`
	ObtainedAt   time.Time `json:"obtainedAt"`
	RenewalTime  time.Time `json:"renewalTime"`
	ServedSerial string    `json:"servedSerial"`
	// Verified: the certificate Traefik served chains to Pebble's root for the host name.
	ServedVerified bool `json:"servedVerified"`
}

type acmeReport struct {
	Server          string   `json:"server"`
	Solver          string   `json:"solver"`
	Email           string   `json:"email"`
	SecretName      string   `json:"secretName"`
	RenewBefore     string   `json:"renewBefore"`
	ValiditySeconds int      `json:"pebbleValiditySeconds"`
	ChallengeHits   int      `json:"challengeRequestsThroughTraefik"`
	Certificates    []issued `json:"certificates"`
	// RenewedBeforeExpiry: the second certificate was obtained and served before the first expired.
	RenewedBeforeExpiry bool `json:"renewedBeforeExpiry"`
}

// runACME obtains the Certificate the program generates from the ClusterIssuer it generates, with
// cert-manager's own ACME client and HTTP-01 solver handler, against Pebble, through Traefik (the
// CA's validation request enters Traefik's web entry point, where the program's HTTP->HTTPS redirect
// route also lives), serves it from the Secret the IngressRoute names, then renews it at the time
// cert-manager's renewal function gives and serves the new one.
func runACME(planDir, pebbleBin, challBin, work string) (*acmeReport, error) {
	issuer := &cmapi.ClusterIssuer{}
	if err := readYAML(filepath.Join(planDir, "_cluster", "clusterissuer-auditflow-acme.yaml"), issuer); err != nil {
		return nil, err
	}
	crtFiles, _ := filepath.Glob(filepath.Join(planDir, "*", "certificate-*-public.yaml"))
	if len(crtFiles) != 1 {
		return nil, fmt.Errorf("want one public Certificate in the plan, found %d", len(crtFiles))
	}
	crt := &cmapi.Certificate{}
	if err := readYAML(crtFiles[0], crt); err != nil {
		return nil, err
	}
	spec := issuer.Spec.ACME
	if spec == nil || len(spec.Solvers) != 1 || spec.Solvers[0].HTTP01 == nil {
		return nil, fmt.Errorf("ClusterIssuer %s: want an ACME issuer with one HTTP-01 solver", issuer.Name)
	}
	server, err := url.Parse(spec.Server)
	if err != nil || server.Hostname() != "127.0.0.1" {
		return nil, fmt.Errorf("the ACME server %q must be on 127.0.0.1 for this test", spec.Server)
	}
	validity := 60
	rep := &acmeReport{
		Server: spec.Server, Solver: "http01", Email: spec.Email, SecretName: crt.Spec.SecretName,
		ValiditySeconds: validity,
	}
	if crt.Spec.RenewBefore != nil {
		rep.RenewBefore = crt.Spec.RenewBefore.Duration.String()
	}

	// Traefik with the program's routes; the backends answer behind them.
	p, err := loadPlan(planDir)
	if err != nil {
		return nil, err
	}
	client := newPlanClient(p)
	for _, ir := range p.ingressRoutes {
		for _, r := range ir.Spec.Routes {
			for _, s := range r.Services {
				if s.Kind != "TraefikService" {
					port, err := startBackend(s.Name)
					if err != nil {
						return nil, err
					}
					client.setEndpoint(ir.Namespace, s.Name, port)
				}
			}
		}
	}
	inst, err := newInstance(crdConfiguration(client))
	if err != nil {
		return nil, err
	}
	_, webPort, _ := net.SplitHostPort(inst.web)

	// cert-manager's HTTP-01 solver handler on loopback, routed the way its solver Ingress is:
	// class traefik, web entry point, host and /.well-known/acme-challenge/<token>.
	sol := &solver.HTTP01Solver{}
	hits := 0
	handler := challengeHandler(sol, logr.Discard())
	solverLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		_ = http.Serve(solverLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits++
			handler(w, r)
		}))
	}()
	solverRoute := func(token string) *dynamic.Configuration {
		conf := &dynamic.Configuration{HTTP: &dynamic.HTTPConfiguration{
			Routers:  map[string]*dynamic.Router{},
			Services: map[string]*dynamic.Service{},
		}}
		for _, h := range crt.Spec.DNSNames {
			name := "cm-acme-http-solver-" + strings.ReplaceAll(h, ".", "-")
			conf.HTTP.Routers[name] = &dynamic.Router{
				EntryPoints: []string{"web"},
				Rule:        fmt.Sprintf("Host(`%s`) && Path(`/.well-known/acme-challenge/%s`)", h, token),
				Service:     "cm-acme-http-solver",
			}
		}
		conf.HTTP.Services["cm-acme-http-solver"] = &dynamic.Service{LoadBalancer: &dynamic.ServersLoadBalancer{
			Servers: []dynamic.Server{{URL: "http://" + solverLn.Addr().String()}},
		}}
		return conf
	}

	// Pebble on loopback, resolving every name to 127.0.0.1 through pebble-challtestsrv's DNS and
	// validating HTTP-01 on Traefik's web port.
	dnsAddr, _ := freeAddr()
	mgmt, _ := freeAddr()
	chalMgmt, _ := freeAddr()
	tlsAlpn, _ := freeAddr()
	_, tlsPort, _ := net.SplitHostPort(tlsAlpn)
	chall := exec.Command(challBin, "-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-dnsserver", dnsAddr, "-management", chalMgmt, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	chall.Stdout, chall.Stderr = io.Discard, io.Discard
	if err := chall.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = chall.Process.Kill() }()
	pebbleConf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  server.Host,
		"managementListenAddress":        mgmt,
		"certificate":                    filepath.Join(work, "pebble-cert.pem"),
		"privateKey":                     filepath.Join(work, "pebble-key.pem"),
		"httpPort":                       atoi(webPort),
		"tlsPort":                        atoi(tlsPort),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{"default": map[string]any{
			"description": "short-lived, for the renewal test", "validityPeriod": validity,
		}},
	}}
	confPath := filepath.Join(work, "pebble-config.json")
	data, _ := json.Marshal(pebbleConf)
	if err := os.WriteFile(confPath, data, 0o600); err != nil {
		return nil, err
	}
	peb := exec.Command(pebbleBin, "-config", confPath, "-dnsserver", dnsAddr)
	peb.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	logFile, _ := os.Create(filepath.Join(work, "pebble.log"))
	peb.Stdout, peb.Stderr = logFile, logFile
	if err := peb.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = peb.Process.Kill() }()

	// cert-manager's ACME client, built the way its controller builds one from the issuer spec.
	caBundle := spec.CABundle
	httpc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolOf(caBundle)}}}
	if err := waitFor(func() error {
		resp, err := httpc.Get(spec.Server)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}, 20*time.Second); err != nil {
		return nil, fmt.Errorf("pebble did not start: %w (see %s)", err, logFile.Name())
	}
	accountKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	cl := accounts.NewClient(metrics.New(logr.Discard(), clock.RealClock{}), "auditflow-harness")(accounts.NewClientOptions{
		Server: spec.Server, CABundle: caBundle, PrivateKey: accountKey,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := cl.Register(ctx, &acmeapi.Account{Contact: []string{"mailto:" + spec.Email}}, acmeapi.AcceptTOS); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	// Pebble's roots, for checking what Traefik serves.
	var roots *x509.CertPool
	if err := waitFor(func() error {
		resp, err := httpc.Get("https://" + mgmt + "/roots/0")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		pemData, _ := io.ReadAll(resp.Body)
		roots = poolOf(pemData)
		return nil
	}, 10*time.Second); err != nil {
		return nil, err
	}

	obtain := func() (*issued, error) {
		der, key, err := order(ctx, cl, crt, sol, func(token string) { inst.apply(inst.extra, solverRoute(token)) })
		if err != nil {
			return nil, err
		}
		leaf, err := x509.ParseCertificate(der[0])
		if err != nil {
			return nil, err
		}
		var chain []byte
		for _, d := range der {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
		}
		keyPEM, err := pki.EncodePrivateKey(key, crt.Spec.PrivateKey.Encoding)
		if err != nil {
			return nil, err
		}
		// What cert-manager does next: write the Secret the Certificate names; Traefik's CRD
		// provider reads it through the IngressRoute's tls.secretName.
		client.setTLSSecret(crt.Namespace, crt.Spec.SecretName, chain, keyPEM)
		inst.apply(inst.crd, crdConfiguration(client))
		got := &issued{
			Serial: leaf.SerialNumber.Text(16), DNSNames: leaf.DNSNames, Issuer: leaf.Issuer.CommonName,
			NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, ObtainedAt: time.Now(),
		}
		got.RenewalTime = pki.RenewalTime(leaf.NotBefore, leaf.NotAfter, crt.Spec.RenewBefore, crt.Spec.RenewBeforePercentage).Time
		served, verified := servedCertificate(inst.websecure, crt.Spec.DNSNames[0], roots)
		got.ServedSerial, got.ServedVerified = served, verified
		return got, nil
	}
	first, err := obtain()
	if err != nil {
		return nil, err
	}
	rep.Certificates = append(rep.Certificates, *first)
	// Renew when cert-manager would: at the renewal time computed from the Certificate's renewBefore.
	time.Sleep(time.Until(first.RenewalTime))
	second, err := obtain()
	if err != nil {
		return nil, err
	}
	rep.Certificates = append(rep.Certificates, *second)
	rep.RenewedBeforeExpiry = second.ServedVerified && second.ServedSerial == second.Serial &&
		second.Serial != first.Serial && time.Now().Before(first.NotAfter)
	rep.ChallengeHits = hits
	return rep, nil
}

// order runs one ACME order for the Certificate's names as cert-manager's order and challenge
// controllers do: authorize, present the HTTP-01 key authorization, accept, wait, then finalize
// with a CSR built by cert-manager's own pki functions from the Certificate spec.
func order(ctx context.Context, cl acmecl.Interface, crt *cmapi.Certificate, sol *solver.HTTP01Solver, route func(token string)) ([][]byte, any, error) {
	o, err := cl.AuthorizeOrder(ctx, acmeapi.DomainIDs(crt.Spec.DNSNames...))
	if err != nil {
		return nil, nil, fmt.Errorf("order: %w", err)
	}
	for _, authzURL := range o.AuthzURLs {
		authz, err := cl.GetAuthorization(ctx, authzURL)
		if err != nil {
			return nil, nil, err
		}
		var chal *acmeapi.Challenge
		for _, c := range authz.Challenges {
			if strings.EqualFold(c.Type, string(cmacme.ACMEChallengeTypeHTTP01)) {
				chal = c
			}
		}
		if chal == nil {
			return nil, nil, fmt.Errorf("no http-01 challenge for %s", authz.Identifier.Value)
		}
		keyAuth, err := cl.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return nil, nil, err
		}
		sol.Domain, sol.Token, sol.Key = authz.Identifier.Value, chal.Token, keyAuth
		route(chal.Token)
		if _, err := cl.Accept(ctx, chal); err != nil {
			return nil, nil, fmt.Errorf("accept: %w", err)
		}
		if _, err := cl.WaitAuthorization(ctx, authz.URI); err != nil {
			return nil, nil, fmt.Errorf("authorization of %s: %w", authz.Identifier.Value, err)
		}
	}
	key, err := pki.GeneratePrivateKeyForCertificate(crt)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := pki.GenerateCSR(crt)
	if err != nil {
		return nil, nil, err
	}
	csr, err := pki.EncodeCSR(tmpl, key)
	if err != nil {
		return nil, nil, err
	}
	ready, err := cl.WaitOrder(ctx, o.URI)
	if err != nil {
		return nil, nil, fmt.Errorf("order ready: %w", err)
	}
	der, _, err := cl.CreateOrderCert(ctx, ready.FinalizeURL, csr, true)
	if acmeErr, ok := err.(*acmeapi.Error); ok && acmeErr.StatusCode >= 400 && acmeErr.StatusCode < 500 {
		return nil, nil, fmt.Errorf("finalize: %w", err)
	}
	if err != nil {
		// As cert-manager's order controller does after any other finalize error (Pebble
		// finalizes asynchronously and answers "processing" without the order's Location, which
		// the client's own wait cannot follow): refresh the order by its URL until it is valid,
		// then fetch the certificate from the order's certificate URL.
		var valid *acmeapi.Order
		if werr := waitFor(func() error {
			o2, gerr := cl.GetOrder(ctx, o.URI)
			if gerr != nil {
				return gerr
			}
			if o2.Status != acmeapi.StatusValid {
				return fmt.Errorf("order is %s", o2.Status)
			}
			valid = o2
			return nil
		}, time.Minute); werr != nil {
			return nil, nil, fmt.Errorf("finalize: %v; then: %w", err, werr)
		}
		if der, err = cl.FetchCert(ctx, valid.CertURL, true); err != nil {
			return nil, nil, fmt.Errorf("fetch certificate: %w", err)
		}
	}
	return der, key, nil
}

// servedCertificate connects to Traefik's HTTPS entry point with the host name as SNI and returns
// the served certificate's serial and whether it verifies against roots for that name.
func servedCertificate(addr, host string, roots *x509.CertPool) (string, bool) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: host, InsecureSkipVerify: true}) //nolint:gosec // verified below
	if err != nil {
		return "", false
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", false
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err = certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return certs[0].SerialNumber.Text(16), err == nil
}

// genCA writes a CA and a certificate for 127.0.0.1 signed by it, for Pebble's HTTPS listener.
func genCA(work string) (map[string]string, error) {
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditflow test ACME CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	files := map[string][]byte{
		"pebble-ca.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"pebble-cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"pebble-key.pem":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	out := map[string]string{}
	for name, data := range files {
		path := filepath.Join(work, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(name, ".pem")] = path
	}
	return out, nil
}

func readYAML(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func poolOf(pemData []byte) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	return pool
}

func waitFor(f func() error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscanf(s, "%d", &n)
	return n
}
