package main

import (
	"sync"

	"github.com/traefik/traefik/v3/pkg/provider/kubernetes/crd"
	traefikv1alpha1 "github.com/traefik/traefik/v3/pkg/provider/kubernetes/crd/traefikio/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// planClient answers Traefik's CRD provider from the plan's objects. Only what a cluster adds at run
// time is synthesised: the EndpointSlices (the backends' loopback addresses) and the TLS Secrets
// (which cert-manager writes in the cluster).
type planClient struct {
	plan      *plan
	mu        sync.Mutex
	endpoints map[string]int32 // namespace/service -> loopback port
	secrets   map[string]*corev1.Secret
}

var _ crd.Client = (*planClient)(nil)

func newPlanClient(p *plan) *planClient {
	return &planClient{plan: p, endpoints: map[string]int32{}, secrets: map[string]*corev1.Secret{}}
}

func (c *planClient) setEndpoint(namespace, service string, port int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endpoints[namespace+"/"+service] = port
}

func (c *planClient) setTLSSecret(namespace, name string, certPEM, keyPEM []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.secrets[namespace+"/"+name] = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
	}
}

func (c *planClient) WatchAll([]string, <-chan struct{}) (<-chan any, error) {
	return make(chan any), nil
}
func (c *planClient) GetIngressRoutes() []*traefikv1alpha1.IngressRoute { return c.plan.ingressRoutes }
func (c *planClient) GetIngressRouteTCPs() []*traefikv1alpha1.IngressRouteTCP {
	return nil
}
func (c *planClient) GetIngressRouteUDPs() []*traefikv1alpha1.IngressRouteUDP {
	return nil
}
func (c *planClient) GetMiddlewares() []*traefikv1alpha1.Middleware { return c.plan.middlewares }
func (c *planClient) GetMiddlewareTCPs() []*traefikv1alpha1.MiddlewareTCP {
	return nil
}
func (c *planClient) GetTraefikService(string, string) (*traefikv1alpha1.TraefikService, bool, error) {
	return nil, false, nil
}
func (c *planClient) GetTraefikServices() []*traefikv1alpha1.TraefikService { return nil }
func (c *planClient) GetTLSOptions() []*traefikv1alpha1.TLSOption           { return nil }
func (c *planClient) GetServersTransports() []*traefikv1alpha1.ServersTransport {
	return nil
}
func (c *planClient) GetServersTransportTCPs() []*traefikv1alpha1.ServersTransportTCP {
	return nil
}
func (c *planClient) GetTLSStores() []*traefikv1alpha1.TLSStore { return nil }

func (c *planClient) GetService(namespace, name string) (*corev1.Service, bool, error) {
	s, ok := c.plan.services[namespace+"/"+name]
	return s, ok, nil
}

func (c *planClient) GetSecret(namespace, name string) (*corev1.Secret, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.secrets[namespace+"/"+name]
	return s, ok, nil
}

// GetEndpointSlicesForService gives each planned Service one ready endpoint on loopback, carrying
// the Service's port names (Traefik matches the IngressRoute's port to them).
func (c *planClient) GetEndpointSlicesForService(namespace, name string) ([]*discoveryv1.EndpointSlice, error) {
	c.mu.Lock()
	port, ok := c.endpoints[namespace+"/"+name]
	c.mu.Unlock()
	svc, found := c.plan.services[namespace+"/"+name]
	if !ok || !found {
		return nil, nil
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: namespace, Name: name + "-loopback"},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{"127.0.0.1"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true)},
		}},
	}
	for _, p := range svc.Spec.Ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(port)})
	}
	return []*discoveryv1.EndpointSlice{slice}, nil
}

func (c *planClient) GetNodes() ([]*corev1.Node, bool, error) { return nil, false, nil }
func (c *planClient) GetConfigMap(string, string) (*corev1.ConfigMap, bool, error) {
	return nil, false, nil
}
