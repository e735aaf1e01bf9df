package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	traefikv1alpha1 "github.com/traefik/traefik/v3/pkg/provider/kubernetes/crd/traefikio/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kscheme "k8s.io/client-go/kubernetes/scheme"

	traefikscheme "github.com/traefik/traefik/v3/pkg/provider/kubernetes/crd/generated/clientset/versioned/scheme"
)

// plan holds the objects of an offline plan (`npm run plan -- --out DIR`) that Traefik reads,
// decoded by Kubernetes' and Traefik's own schemes, exactly as the API server would hand them over.
type plan struct {
	dir           string
	ingressRoutes []*traefikv1alpha1.IngressRoute
	middlewares   []*traefikv1alpha1.Middleware
	services      map[string]*corev1.Service // namespace/name
}

func loadPlan(dir string) (*plan, error) {
	scheme := runtime.NewScheme()
	if err := kscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := traefikscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	decode := serializer.NewCodecFactory(scheme).UniversalDeserializer().Decode
	p := &plan{dir: dir, services: map[string]*corev1.Service{}}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		base := filepath.Base(f)
		if !strings.HasPrefix(base, "ingressroute-") && !strings.HasPrefix(base, "middleware-") &&
			!strings.HasPrefix(base, "service-") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		obj, _, err := decode(data, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		switch o := obj.(type) {
		case *traefikv1alpha1.IngressRoute:
			p.ingressRoutes = append(p.ingressRoutes, o)
		case *traefikv1alpha1.Middleware:
			p.middlewares = append(p.middlewares, o)
		case *corev1.Service:
			p.services[o.Namespace+"/"+o.Name] = o
		}
	}
	if len(p.ingressRoutes) == 0 {
		return nil, fmt.Errorf("no IngressRoute in %s (run the plan with --out first)", dir)
	}
	return p, nil
}
