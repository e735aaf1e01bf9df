import { mutated, spec } from "./fixtures";

spec("ingress-class-required", [
  [
    "no class",
    () => mutated("Ingress", (o) => delete o.spec.ingressClassName),
    /the Ingress web sets no spec.ingressClassName|the Ingress sets no spec.ingressClassName/,
  ],
  [
    "only the deprecated annotation",
    () =>
      mutated("Ingress", (o) => {
        delete o.spec.ingressClassName;
        o.metadata.annotations["kubernetes.io/ingress.class"] = "traefik";
      }),
    /uses the deprecated kubernetes.io\/ingress.class annotation/,
  ],
]);

spec("exposed-route-tls", [
  [
    "route to a backend without TLS",
    () => mutated("IngressRoute", (o) => delete o.spec.tls, "web-https"),
    /the IngressRoute forwards to a backend without TLS \(no spec.tls\)/,
  ],
  [
    "TLS section naming no certificate",
    () => mutated("IngressRoute", (o) => (o.spec.tls = {}), "web-https"),
    /spec.tls names no certificate/,
  ],
  [
    "redirect route that also forwards to a backend",
    () =>
      mutated(
        "IngressRoute",
        (o) => o.spec.routes[0].services.push({ name: "api", port: 80 }),
        "web-http",
      ),
    /forwards to a backend without TLS/,
  ],
]);

spec("exposed-route-rate-limit", [
  [
    "IngressRoute route without middlewares",
    () => mutated("IngressRoute", (o) => delete o.spec.routes[0].middlewares, "web-https"),
    /IngressRoute web-https: route Host\(`audit.example.org`\) has no rate limit/,
  ],
  [
    "IngressRoute route naming a missing middleware",
    () =>
      mutated(
        "IngressRoute",
        (o) => (o.spec.routes[0].middlewares = [{ name: "ratelimt" }]),
        "web-https",
      ),
    /has no rate limit \(middlewares not found in the stack: apps\/ratelimt\)/,
  ],
  [
    "middleware that is not a rate limit",
    () =>
      mutated(
        "IngressRoute",
        (o) => (o.spec.routes[0].middlewares = [{ name: "redirect" }]),
        "web-https",
      ),
    /route Host\(`audit.example.org`\) has no rate limit$|route Host\(`audit.example.org`\) has no rate limit\./,
  ],
  [
    "Ingress without the middleware annotation",
    () => mutated("Ingress", (o) => delete o.metadata.annotations),
    /Ingress web: rules for audit.example.org has no rate limit/,
  ],
]);
