package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/traefik/traefik/v3/pkg/config/dynamic"
)

// clientFor returns an HTTP client that sends every request to addr (the entry point), trusting
// roots for TLS and never following redirects, so the test sees Traefik's own answers.
func clientFor(addr string, roots *x509.CertPool, conns int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type rateResult struct {
	Path           string  `json:"path"`
	OfferedPerSec  float64 `json:"offeredPerSecond"`
	Seconds        float64 `json:"seconds"`
	Sent           int     `json:"sent"`
	OK             int     `json:"ok"`
	TooMany        int     `json:"tooMany"`
	Other          int     `json:"other"`
	Burst          int     `json:"burst"`
	OKPerSecond    float64 `json:"okPerSecondAfterBurst"`
	RetryAfterSeen bool    `json:"retryAfterSeen"`
}

// offer sends requests to url at `perSecond` for `seconds`, paced on a clock, from one client
// address (so one rate-limit bucket), and counts the answers.
func offer(clients []*http.Client, url string, perSecond int, seconds float64, burst int) rateResult {
	total := int(float64(perSecond) * seconds)
	jobs := make(chan *http.Client, total)
	var mu sync.Mutex
	res := rateResult{Path: url, Burst: burst}
	var wg sync.WaitGroup
	for w := 0; w < 96; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				resp, err := c.Get(url)
				mu.Lock()
				switch {
				case err != nil:
					res.Other++
				case resp.StatusCode == http.StatusOK:
					res.OK++
				case resp.StatusCode == http.StatusTooManyRequests:
					res.TooMany++
					if resp.Header.Get("Retry-After") != "" {
						res.RetryAfterSeen = true
					}
				default:
					res.Other++
				}
				mu.Unlock()
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / float64(perSecond))
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- clients[i%len(clients)]
	}
	sendSeconds := time.Since(start).Seconds()
	close(jobs)
	wg.Wait()
	res.Sent = total
	res.Seconds = sendSeconds
	res.OfferedPerSec = float64(total) / sendSeconds
	res.OKPerSecond = float64(res.OK-burst*len(clients)) / sendSeconds
	return res
}

type routesReport struct {
	Routers        []string          `json:"routers"`
	RouterErrors   []string          `json:"routerErrors"`
	Middlewares    map[string]string `json:"middlewares"`
	RedirectStatus int               `json:"redirectStatus"`
	RedirectTo     string            `json:"redirectLocation"`
	Backends       map[string]string `json:"backendByPath"`
	Headers        map[string]string `json:"headers"`
	ServedCertCN   string            `json:"servedCertificateCommonName"`
	WebSocket      struct {
		Upgraded bool     `json:"upgraded"`
		Status   int      `json:"status"`
		Replies  []string `json:"replies"`
	} `json:"webSocket"`
	BodyLimit struct {
		MaxBytes   int64 `json:"maxBytes"`
		SmallPost  int   `json:"smallPostStatus"`
		TooLarge   int   `json:"tooLargePostStatus"`
		LargeBytes int64 `json:"tooLargeBytes"`
	} `json:"bodyLimit"`
	API         rateResult `json:"apiRate"`
	General     rateResult `json:"generalRate"`
	TwoReplicas rateResult `json:"generalRateOverTwoReplicas"`
}

func runRoutes(planDir string, seconds float64) (*routesReport, error) {
	p, err := loadPlan(planDir)
	if err != nil {
		return nil, err
	}
	client := newPlanClient(p)
	// Backends for every Service an IngressRoute names.
	var hosts []string
	tlsSecrets := map[string]string{} // namespace/secret
	for _, ir := range p.ingressRoutes {
		for _, r := range ir.Spec.Routes {
			for _, s := range r.Services {
				if s.Kind == "TraefikService" {
					continue
				}
				port, err := startBackend(s.Name)
				if err != nil {
					return nil, err
				}
				client.setEndpoint(ir.Namespace, s.Name, port)
			}
			for _, h := range strings.Split(r.Match, "`") {
				if strings.Contains(h, ".") && !strings.Contains(h, "/") && !contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
		}
		if ir.Spec.TLS != nil {
			tlsSecrets[ir.Namespace+"/"+ir.Spec.TLS.SecretName] = ir.Namespace
		}
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("no host names in the IngressRoutes' rules")
	}
	certPEM, keyPEM, err := selfSigned(hosts)
	if err != nil {
		return nil, err
	}
	for key, ns := range tlsSecrets {
		client.setTLSSecret(ns, strings.TrimPrefix(key, ns+"/"), certPEM, keyPEM)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)

	conf := crdConfiguration(client)
	rep := &routesReport{Middlewares: map[string]string{}, Backends: map[string]string{}, Headers: map[string]string{}}
	for name := range conf.HTTP.Routers {
		rep.Routers = append(rep.Routers, name)
	}
	sort.Strings(rep.Routers)
	for name, m := range conf.HTTP.Middlewares {
		switch {
		case m.RateLimit != nil:
			rep.Middlewares[name] = fmt.Sprintf("rateLimit average=%d burst=%d period=%s", m.RateLimit.Average, m.RateLimit.Burst, m.RateLimit.Period)
		case m.Headers != nil:
			rep.Middlewares[name] = "headers"
		case m.Buffering != nil:
			rep.Middlewares[name] = fmt.Sprintf("buffering maxRequestBodyBytes=%d", m.Buffering.MaxRequestBodyBytes)
			rep.BodyLimit.MaxBytes = m.Buffering.MaxRequestBodyBytes
		case m.RedirectScheme != nil:
			rep.Middlewares[name] = "redirectScheme " + m.RedirectScheme.Scheme
		}
	}

	inst, err := newInstance(conf)
	if err != nil {
		return nil, err
	}
	inst.errMu.Lock()
	rep.RouterErrors = append([]string{}, inst.routerErrors...)
	inst.errMu.Unlock()
	host := hosts[0]
	secure := clientFor(inst.websecure, roots, 128)
	plain := clientFor(inst.web, roots, 4)

	// HTTP -> HTTPS.
	if resp, err := plain.Get("http://" + host + "/reports?x=1"); err == nil {
		rep.RedirectStatus = resp.StatusCode
		rep.RedirectTo = resp.Header.Get("Location")
		resp.Body.Close()
	} else {
		return nil, err
	}
	// Routing, headers and the served certificate.
	for _, path := range []string{"/", "/api/v1/summary", "/live"} {
		resp, err := secure.Get("https://" + host + path)
		if err != nil {
			return nil, err
		}
		rep.Backends[path] = resp.Header.Get("X-Backend")
		if path == "/" {
			for _, h := range []string{"Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy", "Permissions-Policy"} {
				rep.Headers[h] = resp.Header.Get(h)
			}
			if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
				rep.ServedCertCN = resp.TLS.PeerCertificates[0].Subject.CommonName
			}
		}
		resp.Body.Close()
	}
	// WebSocket on the live path.
	dialer := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, inst.websecure)
		},
		TLSClientConfig:  &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12},
		HandshakeTimeout: 5 * time.Second,
	}
	ws, resp, err := dialer.Dial("wss://"+host+"/live/events", nil)
	if resp != nil {
		rep.WebSocket.Status = resp.StatusCode
	}
	if err == nil {
		rep.WebSocket.Upgraded = true
		for _, msg := range []string{"hello", "audit-event-42"} {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				break
			}
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, reply, err := ws.ReadMessage()
			if err != nil {
				break
			}
			rep.WebSocket.Replies = append(rep.WebSocket.Replies, string(reply))
		}
		ws.Close()
	}
	// Request body limit on the API.
	post := func(n int64) int {
		resp, err := secure.Post("https://"+host+"/api/v1/events", "application/octet-stream", bytes.NewReader(make([]byte, n)))
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	rep.BodyLimit.SmallPost = post(1024)
	rep.BodyLimit.LargeBytes = rep.BodyLimit.MaxBytes + 1
	rep.BodyLimit.TooLarge = post(rep.BodyLimit.LargeBytes)

	// Rate limits: offer twice the configured average, from one client address. The buckets
	// refill between phases (Traefik's limiter holds a full burst after a second of silence).
	apiLimit, generalLimit := limitsOf(p)
	time.Sleep(1500 * time.Millisecond)
	rep.API = offer([]*http.Client{secure}, "https://"+host+"/api/v1/summary", 2*apiLimit.average, seconds, apiLimit.burst)
	time.Sleep(1500 * time.Millisecond)
	rep.General = offer([]*http.Client{secure}, "https://"+host+"/", 2*generalLimit.average, seconds, generalLimit.burst)

	// A second replica from the same configuration keeps its own buckets.
	inst2, err := newInstance(conf)
	if err != nil {
		return nil, err
	}
	time.Sleep(1500 * time.Millisecond)
	rep.TwoReplicas = offer([]*http.Client{secure, clientFor(inst2.websecure, roots, 128)}, "https://"+host+"/", 4*generalLimit.average, seconds, generalLimit.burst)
	return rep, nil
}

type limit struct{ average, burst int }

// limitsOf reads the API and general rate limits from the plan's Middlewares.
func limitsOf(p *plan) (api, general limit) {
	for _, m := range p.middlewares {
		if m.Spec.RateLimit == nil || m.Spec.RateLimit.Average == nil {
			continue
		}
		l := limit{average: int(*m.Spec.RateLimit.Average)}
		if m.Spec.RateLimit.Burst != nil {
			l.burst = int(*m.Spec.RateLimit.Burst)
		}
		if strings.Contains(m.Name, "api") {
			api = l
		} else {
			general = l
		}
	}
	return api, general
}

// newInstance starts a Traefik on two fresh loopback ports with the given configuration.
func newInstance(conf *dynamic.Configuration) (*traefikInstance, error) {
	web, err := freeAddr()
	if err != nil {
		return nil, err
	}
	websecure, err := freeAddr()
	if err != nil {
		return nil, err
	}
	inst, err := startTraefik(web, websecure)
	if err != nil {
		return nil, err
	}
	inst.apply(inst.crd, conf)
	return inst, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
