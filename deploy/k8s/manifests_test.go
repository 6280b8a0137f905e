// Package k8s_test validates the Kubernetes manifests offline: every document decodes strictly into
// the k8s.io/api type of its kind (an unknown or misspelt field fails), and the objects agree with
// each other and with the service (probe paths, env names, grace period, selectors).
package k8s_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/ccbackend/ccbackend/internal/config"
)

// manifests is every object under deploy/k8s, by kind.
type manifests struct {
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	accounts    []*corev1.ServiceAccount
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	policies    []*networkingv1.NetworkPolicy
}

// decodeStrict decodes one YAML document into the type its apiVersion and kind name; fields the
// type does not have, and duplicated fields, are errors.
func (m *manifests) decodeStrict(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	strict := func(into any) error { return yaml.UnmarshalStrict(doc, into) }
	var err error
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		m.deployments = append(m.deployments, decodeInto[appsv1.Deployment](strict, &err))
	case "batch/v1 Job":
		m.jobs = append(m.jobs, decodeInto[batchv1.Job](strict, &err))
	case "v1 Service":
		m.services = append(m.services, decodeInto[corev1.Service](strict, &err))
	case "v1 ConfigMap":
		m.configMaps = append(m.configMaps, decodeInto[corev1.ConfigMap](strict, &err))
	case "v1 ServiceAccount":
		m.accounts = append(m.accounts, decodeInto[corev1.ServiceAccount](strict, &err))
	case "autoscaling/v2 HorizontalPodAutoscaler":
		m.hpas = append(m.hpas, decodeInto[autoscalingv2.HorizontalPodAutoscaler](strict, &err))
	case "policy/v1 PodDisruptionBudget":
		m.pdbs = append(m.pdbs, decodeInto[policyv1.PodDisruptionBudget](strict, &err))
	case "networking.k8s.io/v1 NetworkPolicy":
		m.policies = append(m.policies, decodeInto[networkingv1.NetworkPolicy](strict, &err))
	case "v1 Secret":
		return fmt.Errorf("a Secret is committed: secret values never go into the repository")
	default:
		return fmt.Errorf("unexpected object %q %q (add it to this test)", tm.APIVersion, tm.Kind)
	}
	return err
}

func decodeInto[T any](strict func(any) error, err *error) *T {
	v := new(T)
	*err = strict(v)
	return v
}

// splitDocuments splits a YAML stream on its `---` separator lines, dropping empty documents.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s (%v)", err)
	}
	m := &manifests{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocuments(b) {
			if err := m.decodeStrict(doc); err != nil {
				t.Errorf("%s, document %d: %v", f, i+1, err)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return m
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.jobs) != 1 || len(m.services) != 1 || len(m.configMaps) != 1 ||
		len(m.hpas) != 1 || len(m.pdbs) != 1 || len(m.policies) != 2 || len(m.accounts) != 1 {
		t.Fatalf("want one Deployment, Job, Service, ConfigMap, ServiceAccount, HPA, PDB and two NetworkPolicies; got %d %d %d %d %d %d %d %d",
			len(m.deployments), len(m.jobs), len(m.services), len(m.configMaps), len(m.accounts), len(m.hpas), len(m.pdbs), len(m.policies))
	}
}

// The strict decoding is what catches a misspelt field: prove it does.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	cases := map[string]string{
		"unknown field":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"misplaced field":   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetPorts: http}]}\n",
		"duplicate field":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: b}\ndata: {A: c}\n",
		"unknown kind":      "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"committed secret":  "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {k: v}\n",
		"wrong value type":  "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {minAvailable: [1]}\n",
		"wrong api version": "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := (&manifests{}).decodeStrict([]byte(doc)); err == nil {
				t.Fatalf("accepted:\n%s", doc)
			}
		})
	}
}

// podEnv resolves a container's environment as the kubelet would: the ConfigMaps of envFrom, then
// env (which wins). Secret references get a placeholder that config accepts.
func podEnv(t *testing.T, m *manifests, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("container %s: envFrom only from the ConfigMap", c.Name)
		}
		cm := configMap(t, m, from.ConfigMapRef.Name)
		for k, v := range cm.Data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secretPlaceholder(e.Name)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			env[e.Name] = configMap(t, m, e.ValueFrom.ConfigMapKeyRef.Name).Data[e.ValueFrom.ConfigMapKeyRef.Key]
		default:
			t.Fatalf("container %s: %s comes from neither a Secret nor the ConfigMap", c.Name, e.Name)
		}
	}
	return env
}

func configMap(t *testing.T, m *manifests, name string) *corev1.ConfigMap {
	t.Helper()
	for _, cm := range m.configMaps {
		if cm.Name == name {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %q in deploy/k8s", name)
	return nil
}

// secretPlaceholder is a value of the right shape for a variable read from the Secret.
func secretPlaceholder(name string) string {
	switch name {
	case "DATABASE_URL":
		return "postgres://ccbackend:x@postgres:5432/ccbackend?sslmode=require"
	case "REDIS_URL":
		return "rediss://:x@redis:6379/0"
	case "CCB_SECRET_KEY":
		return strings.Repeat("k", 48)
	}
	return "placeholder"
}

// loadConfig runs config.Load on env and returns the configuration and every variable it read, so
// a name in a manifest that the service never reads (a typo, a removed setting) is caught.
func loadConfig(t *testing.T, env map[string]string) (config.Config, map[string]bool) {
	t.Helper()
	read := map[string]bool{}
	cfg, err := config.Load(func(name string) string { read[name] = true; return env[name] })
	if err != nil {
		t.Fatalf("the manifest's environment does not load: %v", err)
	}
	return cfg, read
}

func TestEnvNamesAreConfigVariables(t *testing.T) {
	m := loadManifests(t)
	containers := append(slices.Clone(m.deployments[0].Spec.Template.Spec.Containers), m.jobs[0].Spec.Template.Spec.Containers...)
	for _, c := range containers {
		env := podEnv(t, m, c)
		_, read := loadConfig(t, env)
		for name := range env {
			if !read[name] {
				t.Errorf("container %s sets %s, which internal/config does not read", c.Name, name)
			}
		}
		for _, e := range c.Env {
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Name != "ccbackend" {
				t.Errorf("%s: secrets come from the Secret `ccbackend` (README), not %q", e.Name, ref.SecretKeyRef.Name)
			}
		}
	}
	// The check above can fail: a misspelt name is not among the variables read.
	if _, read := loadConfig(t, map[string]string{"CCB_SHUTDOWN_TIMOUT": "30s"}); !read["CCB_SHUTDOWN_TIMEOUT"] || read["CCB_SHUTDOWN_TIMOUT"] {
		t.Fatal("recording config.Load's reads does not tell a known variable from a misspelt one")
	}
}

func TestDeploymentRunsSafely(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	cfg, _ := loadConfig(t, podEnv(t, m, c))

	if cfg.MigrateOnStart {
		t.Error("the Deployment must not migrate on start (CCB_MIGRATE_ON_START=false): the Job does")
	}
	if cfg.Env != "production" {
		t.Errorf("CCB_ENV = %q, want production", cfg.Env)
	}
	if !strings.HasPrefix(cfg.Files.BlobURL, "s3://") {
		t.Errorf("CCB_BLOB_URL = %q: replicas with a read-only root filesystem need a shared S3 store", cfg.Files.BlobURL)
	}
	checkProbe(t, "readiness", c.ReadinessProbe, "/ready", c, cfg.Addr)
	checkProbe(t, "liveness", c.LivenessProbe, "/health", c, cfg.Addr)
	checkProbe(t, "startup", c.StartupProbe, "/health", c, cfg.Addr)

	// SIGTERM comes after preStop; the server then drains for up to CCB_SHUTDOWN_TIMEOUT.
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	if grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second; grace <= preStop+cfg.ShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %v is not above preStop %v + CCB_SHUTDOWN_TIMEOUT %v", grace, preStop, cfg.ShutdownTimeout)
	}
	checkHardened(t, pod, c)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request (the HPA scales on CPU utilisation of the request)", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the Deployment's selector %v does not match its pod labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	if d.Spec.Replicas != nil {
		t.Error("spec.replicas is set: re-applying would reset what the HPA chose")
	}
	if pod.ServiceAccountName == "" || pod.ServiceAccountName != m.accounts[0].Name {
		t.Errorf("serviceAccountName %q is not the manifests' ServiceAccount", pod.ServiceAccountName)
	}
}

// checkProbe asserts an HTTP probe of path on the container port the service listens on, and that
// the path is an operation of the API contract.
func checkProbe(t *testing.T, kind string, p *corev1.Probe, path string, c corev1.Container, addr string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe: want an HTTP GET of %s", kind, path)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s probe path %q, want %q", kind, p.HTTPGet.Path, path)
	}
	if port := containerPort(c, p.HTTPGet.Port.String()); fmt.Sprint(":", port) != addr[strings.LastIndex(addr, ":"):] {
		t.Errorf("%s probe port %s (container port %d) is not CCB_ADDR %q", kind, p.HTTPGet.Port.String(), port, addr)
	}
	spec, err := os.ReadFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(spec, []byte("\n  "+path+":\n")) {
		t.Errorf("%s probe path %s is not in api/openapi.yaml", kind, path)
	}
}

// containerPort resolves a port name (or number) to the container's port number; 0 if none.
func containerPort(c corev1.Container, nameOrNumber string) int32 {
	for _, p := range c.Ports {
		if p.Name == nameOrNumber || fmt.Sprint(p.ContainerPort) == nameOrNumber {
			return p.ContainerPort
		}
	}
	return 0
}

// checkHardened asserts non-root, a read-only root filesystem, no capabilities, no privilege
// escalation and the runtime's default seccomp profile.
func checkHardened(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	ps, cs := pod.SecurityContext, c.SecurityContext
	if ps == nil || cs == nil {
		t.Fatalf("%s: pod and container securityContext are both required", c.Name)
	}
	if ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 {
		t.Errorf("%s: must run as a non-root user (runAsNonRoot, runAsUser ≠ 0)", c.Name)
	}
	if ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile must be RuntimeDefault", c.Name)
	}
	if cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem must be true", c.Name)
	}
	if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation must be false", c.Name)
	}
	if cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities must drop ALL and add none", c.Name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the pod needs no Kubernetes API token (automountServiceAccountToken: false)", c.Name)
	}
}

func TestMigrationJob(t *testing.T) {
	m := loadManifests(t)
	j, d := m.jobs[0], m.deployments[0]
	pod := j.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Args, []string{"migrate", "up"}) || len(c.Command) > 0 {
		t.Errorf("the Job runs %v %v, want the image's entrypoint with args [migrate up]", c.Command, c.Args)
	}
	// The command exists in cmd/ccbackend (package main cannot be imported: read its dispatch).
	for file, want := range map[string]string{"main.go": `case "migrate":`, "migrate.go": `case "up":`} {
		src, err := os.ReadFile(filepath.Join("../../cmd/ccbackend", file))
		if err != nil || !bytes.Contains(src, []byte(want)) {
			t.Errorf("cmd/ccbackend/%s has no %s (%v)", file, want, err)
		}
	}
	if c.Image != d.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("the Job's image %q differs from the Deployment's %q", c.Image, d.Spec.Template.Spec.Containers[0].Image)
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	checkHardened(t, pod, c)
	if sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels); sel.Matches(labels.Set(j.Spec.Template.Labels)) {
		t.Error("the Job's pod would be selected by the Deployment (and its Service, PDB, NetworkPolicy)")
	}
}

func TestServiceHPAAndPDBTargetTheDeployment(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[0]
	podLabels := labels.Set(d.Spec.Template.Labels)
	c := d.Spec.Template.Spec.Containers[0]

	svc := m.services[0]
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) || len(svc.Spec.Selector) == 0 {
		t.Errorf("the Service's selector %v does not match the pods %v", svc.Spec.Selector, podLabels)
	}
	for _, p := range svc.Spec.Ports {
		if containerPort(c, p.TargetPort.String()) == 0 {
			t.Errorf("Service port %s targets %s, which the container does not expose", p.Name, p.TargetPort.String())
		}
	}

	hpa := m.hpas[0]
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("the HPA targets %s %s %s, not the Deployment %s", ref.APIVersion, ref.Kind, ref.Name, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("HPA replicas %v..%d: want at least two", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}

	pdb := m.pdbs[0]
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("the PDB's selector %v does not match the pods %v (%v)", pdb.Spec.Selector, podLabels, err)
	}
	if pdb.Spec.MinAvailable == nil || hpa.Spec.MinReplicas == nil || pdb.Spec.MinAvailable.IntValue() >= int(*hpa.Spec.MinReplicas) {
		t.Errorf("PDB minAvailable %v must be below the HPA's minReplicas, or no node can be drained", pdb.Spec.MinAvailable)
	}
}

func TestNetworkPolicies(t *testing.T) {
	m := loadManifests(t)
	d, j := m.deployments[0], m.jobs[0]
	byPods := map[string]*networkingv1.NetworkPolicy{}
	for _, p := range m.policies {
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil || sel.Empty() {
			t.Fatalf("NetworkPolicy %s selects every pod (%v)", p.Name, err)
		}
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			byPods["api"] = p
		}
		if sel.Matches(labels.Set(j.Spec.Template.Labels)) {
			byPods["migrate"] = p
		}
		if !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			t.Errorf("NetworkPolicy %s must restrict both ingress and egress", p.Name)
		}
	}
	api, migrate := byPods["api"], byPods["migrate"]
	if api == nil || migrate == nil {
		t.Fatalf("want a NetworkPolicy for the API pods and one for the migration Job; got %v", byPods)
	}
	var ingress []int
	for _, r := range api.Spec.Ingress {
		ingress = append(ingress, ports(r.Ports)...)
	}
	if !slices.Contains(ingress, int(containerPort(d.Spec.Template.Spec.Containers[0], "http"))) {
		t.Errorf("API ingress ports %v do not admit the http port", ingress)
	}
	egress := func(p *networkingv1.NetworkPolicy) []int {
		var out []int
		for _, r := range p.Spec.Egress {
			out = append(out, ports(r.Ports)...)
		}
		return out
	}
	for _, want := range []int{53, 5432, 6379, 443} { // DNS, PostgreSQL, Redis, the Anthropic API
		if !slices.Contains(egress(api), want) {
			t.Errorf("API egress lacks port %d", want)
		}
	}
	if got := egress(migrate); !slices.Contains(got, 53) || !slices.Contains(got, 5432) || slices.Contains(got, 443) || len(migrate.Spec.Ingress) > 0 {
		t.Errorf("the migration Job should reach only DNS and PostgreSQL and take no traffic; egress %v", got)
	}
}

func ports(ps []networkingv1.NetworkPolicyPort) []int {
	var out []int
	for _, p := range ps {
		if p.Port != nil {
			out = append(out, p.Port.IntValue())
		}
	}
	return out
}
