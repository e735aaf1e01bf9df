package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
	_ "unsafe" // go:linkname

	ptypes "github.com/traefik/paerser/types"
	"github.com/traefik/traefik/v3/pkg/config/dynamic"
	"github.com/traefik/traefik/v3/pkg/config/runtime"
	"github.com/traefik/traefik/v3/pkg/config/static"
	"github.com/traefik/traefik/v3/pkg/observability/metrics"
	"github.com/traefik/traefik/v3/pkg/provider/aggregator"
	"github.com/traefik/traefik/v3/pkg/provider/kubernetes/crd"
	"github.com/traefik/traefik/v3/pkg/provider/traefik"
	"github.com/traefik/traefik/v3/pkg/proxy/httputil"
	"github.com/traefik/traefik/v3/pkg/safe"
	"github.com/traefik/traefik/v3/pkg/server"
	"github.com/traefik/traefik/v3/pkg/server/middleware"
	"github.com/traefik/traefik/v3/pkg/server/service"
	"github.com/traefik/traefik/v3/pkg/tcp"
	traefiktls "github.com/traefik/traefik/v3/pkg/tls"
)

// loadConfigurationFromCRD is the CRD provider's own translation of IngressRoutes, Middlewares,
// Services, EndpointSlices and Secrets into Traefik's dynamic configuration. It is unexported, and
// the provider only reaches it through a client to a live API server, so the harness links to it
// directly and hands it the plan's objects.
//
//go:linkname loadConfigurationFromCRD github.com/traefik/traefik/v3/pkg/provider/kubernetes/crd.(*Provider).loadConfigurationFromCRD
func loadConfigurationFromCRD(p *crd.Provider, ctx context.Context, client crd.Client) *dynamic.Configuration

// crdConfiguration runs the CRD provider's translation with K3s' settings (no cross-namespace
// references, no ExternalName services: see components/ingress/traefik-config.ts).
func crdConfiguration(client crd.Client) *dynamic.Configuration {
	p := &crd.Provider{AllowCrossNamespace: false, AllowExternalNameServices: false}
	if err := p.Init(); err != nil {
		panic(err)
	}
	return loadConfigurationFromCRD(p, context.Background(), client)
}

// pushProvider hands configurations to Traefik's watcher under a provider's name.
type pushProvider struct {
	name  string
	ready chan struct{}
	ch    chan<- dynamic.Message
}

func (p *pushProvider) Init() error { return nil }
func (p *pushProvider) Provide(ch chan<- dynamic.Message, _ *safe.Pool) error {
	p.ch = ch
	close(p.ready)
	return nil
}
func (p *pushProvider) push(conf *dynamic.Configuration) {
	<-p.ready
	p.ch <- dynamic.Message{ProviderName: p.name, Configuration: conf}
}

// traefikInstance is one Traefik "replica": its own entry points, router and middleware state.
type traefikInstance struct {
	web, websecure string
	crd            *pushProvider // configuration from the CRD provider code
	extra          *pushProvider // routes a cluster adds at run time (cert-manager's solver)
	applied        chan struct{}
	errMu          sync.Mutex
	routerErrors   []string // errors Traefik recorded on routers of the last configuration
	last           dynamic.Configuration
}

// startTraefik wires Traefik's server as cmd/traefik does (provider aggregator with the internal
// provider, TLS manager, service and router factories, configuration watcher, entry points),
// without ACME, plugins, tracing or access logs.
func startTraefik(web, websecure string) (*traefikInstance, error) {
	ep := func(addr string) *static.EntryPoint {
		e := &static.EntryPoint{}
		e.SetDefaults()
		e.Address = addr
		return e
	}
	staticConf := static.Configuration{
		EntryPoints: static.EntryPoints{"web": ep(web), "websecure": ep(websecure)},
		Providers:   &static.Providers{ProvidersThrottleDuration: ptypes.Duration(50 * time.Millisecond)},
		// Traefik's defaults (cmd/configuration.go), from which the internal provider makes
		// default@internal, the transport every service uses unless it names another.
		ServersTransport: &static.ServersTransport{MaxIdleConnsPerHost: 200},
		TCPServersTransport: &static.TCPServersTransport{
			DialTimeout:   ptypes.Duration(30 * time.Second),
			DialKeepAlive: ptypes.Duration(15 * time.Second),
		},
	}
	staticConf.SetEffectiveConfiguration()

	ctx := context.Background()
	pool := safe.NewPool(ctx)
	agg := aggregator.NewProviderAggregator(*staticConf.Providers)
	if err := agg.AddProvider(traefik.New(staticConf)); err != nil {
		return nil, err
	}
	inst := &traefikInstance{
		web: web, websecure: websecure,
		crd:     &pushProvider{name: "kubernetescrd", ready: make(chan struct{})},
		extra:   &pushProvider{name: "kubernetes", ready: make(chan struct{})},
		applied: make(chan struct{}, 16),
	}
	for _, p := range []*pushProvider{inst.crd, inst.extra} {
		if err := agg.AddProvider(p); err != nil {
			return nil, err
		}
	}
	tlsManager := traefiktls.NewManager(nil)
	pool.GoCtx(tlsManager.Run)
	registry := metrics.NewMultiRegistry(nil)
	obs := middleware.NewObservabilityMgr(staticConf, registry, nil, nil, nil, nil)
	entryPoints, err := server.NewTCPEntryPoints(staticConf.EntryPoints, staticConf.HostResolver, registry)
	if err != nil {
		return nil, err
	}
	udp, err := server.NewUDPEntryPoints(staticConf.EntryPoints)
	if err != nil {
		return nil, err
	}
	transports := service.NewTransportManager(nil)
	proxies := httputil.NewProxyBuilder(transports, nil)
	dialers := tcp.NewDialerManager(nil)
	factory := service.NewManagerFactory(staticConf, pool, obs, transports, proxies, nil)
	routers, err := server.NewRouterFactory(staticConf, factory, tlsManager, obs, nil, dialers)
	if err != nil {
		return nil, err
	}
	watcher := server.NewConfigurationWatcher(pool, agg, []string{"web", "websecure"}, "internal")
	watcher.AddListener(func(conf dynamic.Configuration) {
		tlsManager.UpdateConfigs(ctx, conf.TLS.Stores, conf.TLS.Options, conf.TLS.Certificates)
	})
	watcher.AddListener(func(conf dynamic.Configuration) {
		transports.Update(conf.HTTP.ServersTransports)
		proxies.Update(conf.HTTP.ServersTransports)
		dialers.Update(conf.TCP.ServersTransports)
	})
	watcher.AddListener(func(conf dynamic.Configuration) {
		rt := runtime.NewConfig(conf)
		tcpRouters, udpRouters := routers.CreateRouters(rt)
		entryPoints.Switch(tcpRouters)
		udp.Switch(udpRouters)
		var errs []string
		for name, r := range rt.Routers {
			for _, e := range r.Err {
				errs = append(errs, fmt.Sprintf("router %s: %s", name, e))
			}
		}
		inst.errMu.Lock()
		inst.routerErrors = errs
		inst.last = conf
		inst.errMu.Unlock()
		select {
		case inst.applied <- struct{}{}:
		default:
		}
	})
	srv := server.NewServer(pool, entryPoints, udp, watcher, obs)
	srv.Start(ctx)
	return inst, nil
}

// apply pushes a provider's configuration and waits until Traefik runs routers built from it:
// every router and certificate of conf is in the configuration Traefik last switched to.
func (t *traefikInstance) apply(p *pushProvider, conf *dynamic.Configuration) {
	p.push(conf)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-t.applied:
		case <-time.After(time.Second):
		}
		if t.runs(p.name, conf) {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "warning: the %s configuration was not applied within 30s\n", p.name)
}

// runs reports whether the last applied configuration holds conf's routers and certificates.
func (t *traefikInstance) runs(provider string, conf *dynamic.Configuration) bool {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	if t.last.HTTP == nil {
		return false
	}
	for name := range conf.HTTP.Routers {
		if _, ok := t.last.HTTP.Routers[name+"@"+provider]; !ok {
			return false
		}
	}
	if conf.TLS == nil || len(conf.TLS.Certificates) == 0 {
		return true
	}
	if t.last.TLS == nil {
		return false
	}
	for _, c := range conf.TLS.Certificates {
		found := false
		for _, have := range t.last.TLS.Certificates {
			if have.Certificate.CertFile == c.Certificate.CertFile {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
