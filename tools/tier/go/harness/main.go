// Command tier-harness starts etcd and kube-apiserver with controller-runtime's envtest (its
// certificates, free loopback ports and flags), applies the given manifests server-side, creates
// a namespace, writes an admin kubeconfig with one context and a ready file, then keeps the
// control plane running until SIGTERM, SIGINT or SIGHUP.
//
// It is started and stopped by tools/upstream-tier; it binds nothing itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const fieldManager = "agw-sandbox-tier"

type manifestList []string

func (m *manifestList) String() string     { return strings.Join(*m, ",") }
func (m *manifestList) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	dir, apiserver, etcd, kubeconfig, context, namespace, ready, probe string
	manifests                                                          manifestList
	startTimeout, stopTimeout                                          time.Duration
}

// component is what the ready file says about one process.
type component struct {
	PID     int    `json:"pid"`
	URL     string `json:"url"`
	Version string `json:"version"`
}

type readyFile struct {
	HarnessPID int       `json:"harness_pid"`
	APIServer  component `json:"apiserver"`
	Etcd       component `json:"etcd"`
	Kubeconfig string    `json:"kubeconfig"`
	Context    string    `json:"context"`
	CAFile     string    `json:"ca_file"`
	Namespace  string    `json:"namespace"`
	CRDs       []string  `json:"crds"`
	Objects    []string  `json:"objects"`
}

// stageError names the stage that failed, for the message tools/upstream-tier shows.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }

func fail(stage string, err error) error { return &stageError{stage: stage, err: err} }

func main() {
	var o options
	// A flag set of our own: controller-runtime registers "kubeconfig" on the global one.
	fs := flag.NewFlagSet("tier-harness", flag.ExitOnError)
	fs.StringVar(&o.dir, "dir", "", "working directory (certificates, etcd data, logs)")
	fs.StringVar(&o.apiserver, "apiserver", "", "path of the kube-apiserver binary")
	fs.StringVar(&o.etcd, "etcd", "", "path of the etcd binary")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "where to write the admin kubeconfig")
	fs.StringVar(&o.context, "context", "agw-tier", "name of the kubeconfig's only context")
	fs.StringVar(&o.namespace, "namespace", "", "namespace to create")
	fs.StringVar(&o.ready, "ready", "", "JSON file written once everything is ready")
	fs.StringVar(&o.probe, "admission-probe", "", "JSON {object, expect}: wait until a dry-run create of object is refused with expect")
	fs.Var(&o.manifests, "manifest", "YAML file to apply server-side (repeatable; CRDs first, then the rest)")
	fs.DurationVar(&o.startTimeout, "start-timeout", 90*time.Second, "time each process may take to start")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "time each process may take to stop")
	_ = fs.Parse(os.Args[1:])
	if o.dir == "" || o.apiserver == "" || o.etcd == "" || o.kubeconfig == "" || o.ready == "" {
		fmt.Fprintln(os.Stderr, "tier-harness: -dir, -apiserver, -etcd, -kubeconfig and -ready are required")
		os.Exit(2)
	}
	os.Exit(run(o))
}

func run(o options) int {
	var started, aborting atomic.Bool
	signals := make(chan os.Signal, 4)
	stop := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for sig := range signals {
			if started.Load() {
				select {
				case stop <- sig:
				default: // a stop is already under way
				}
				continue
			}
			if !aborting.Swap(true) {
				fmt.Fprintf(os.Stderr, "tier-harness: %v during start-up: killing the control plane\n", sig)
				go abort()
			}
		}
	}()
	// Until the control plane is up, a signal means "give up now". envtest's Start cannot be
	// interrupted and retries a failed start, so abort() keeps killing children until the start-up
	// below notices aborting and exits.
	exitIfAborting := func() {
		if aborting.Load() {
			killChildren()
			os.Exit(130)
		}
	}

	env, err := newEnvironment(o)
	if err != nil {
		return report(fail("prepare", err))
	}
	cfg, err := env.Start()
	exitIfAborting()
	if err != nil {
		_ = env.Stop()
		return report(fail("control plane", err))
	}
	info, err := install(o, env, cfg)
	exitIfAborting()
	if err != nil {
		_ = env.Stop()
		return report(err)
	}
	if err := writeJSON(o.ready, info); err != nil {
		_ = env.Stop()
		return report(fail("ready file", err))
	}
	started.Store(true)
	exitIfAborting()
	fmt.Fprintf(os.Stderr, "tier-harness: ready: API server %s (pid %d), etcd %s (pid %d)\n",
		info.APIServer.URL, info.APIServer.PID, info.Etcd.URL, info.Etcd.PID)

	code := waitForStop(stop, info)
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "tier-harness: stop: %v\n", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "tier-harness: stopped")
	return code
}

func report(err error) int {
	fmt.Fprintf(os.Stderr, "tier-harness: failed at %v\n", err)
	return 1
}

func newEnvironment(o options) (*envtest.Environment, error) {
	certDir := filepath.Join(o.dir, "certs")
	dataDir := filepath.Join(o.dir, "etcd")
	for _, d := range []string{certDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	apiLog, err := os.OpenFile(filepath.Join(o.dir, "kube-apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	etcdLog, err := os.OpenFile(filepath.Join(o.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	apiServer := &envtest.APIServer{Path: o.apiserver, CertDir: certDir, Out: apiLog, Err: apiLog}
	// With a loopback advertise address the reconciler of the "kubernetes" Endpoints keeps failing
	// validation ("may not be in the loopback range"); nothing here needs that object.
	apiServer.Configure().Set("endpoint-reconciler-type", "none")
	useExisting := false
	return &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer: apiServer,
			Etcd:      &envtest.Etcd{Path: o.etcd, DataDir: dataDir, Out: etcdLog, Err: etcdLog},
		},
		UseExistingCluster:       &useExisting,
		ControlPlaneStartTimeout: o.startTimeout,
		ControlPlaneStopTimeout:  o.stopTimeout,
	}, nil
}

func install(o options, env *envtest.Environment, cfg *rest.Config) (*readyFile, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fail("client", err)
	}
	crds, others, err := readManifests(o.manifests)
	if err != nil {
		return nil, fail("read manifests", err)
	}
	info := &readyFile{HarnessPID: os.Getpid(), Namespace: o.namespace, Kubeconfig: o.kubeconfig, Context: o.context}
	for _, obj := range crds {
		if err := apply(ctx, c, obj); err != nil {
			return nil, fail("install CRD "+obj.GetName(), err)
		}
		info.CRDs = append(info.CRDs, obj.GetName())
	}
	for _, obj := range crds {
		if err := waitEstablished(ctx, c, obj.GetName()); err != nil {
			return nil, fail("CRD "+obj.GetName()+" established", err)
		}
	}
	for _, obj := range others {
		if err := apply(ctx, c, obj); err != nil {
			return nil, fail("apply "+obj.GetKind()+" "+obj.GetName(), err)
		}
		info.Objects = append(info.Objects, obj.GetKind()+"/"+obj.GetName())
	}
	if o.namespace != "" {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.namespace}}
		if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fail("namespace "+o.namespace, err)
		}
	}
	if o.probe != "" {
		if err := waitRefused(ctx, c, o.probe); err != nil {
			return nil, fail("admission policy in force", err)
		}
	}
	if err := describe(ctx, o, env, cfg, info); err != nil {
		return nil, err
	}
	return info, nil
}

// readManifests splits every document of the files into CRDs and other objects, in file order.
func readManifests(files []string) (crds, others []*unstructured.Unstructured, err error) {
	for _, f := range files {
		objs, err := readFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, obj := range objs {
			if obj.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, obj)
			} else {
				others = append(others, obj)
			}
		}
	}
	return crds, others, nil
}

func readFile(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 64*1024)
	var objs []*unstructured.Unstructured
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if len(raw) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: raw})
	}
}

// apply creates or updates obj with server-side apply (never a client-side apply: the biggest
// CRDs are larger than the last-applied annotation may be).
func apply(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
		client.FieldOwner(fieldManager), client.ForceOwnership)
}

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, nil //nolint:nilerr // not visible yet: poll again
		}
		conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, cond := range conditions {
			m, _ := cond.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
}

type admissionProbe struct {
	Object map[string]any `json:"object"`
	Expect string         `json:"expect"`
}

// waitRefused polls a server-side dry run of the probe's object until the API server refuses it
// with the expected message: a ValidatingAdmissionPolicy takes effect a moment after it is created.
func waitRefused(ctx context.Context, c client.Client, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var p admissionProbe
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		obj := &unstructured.Unstructured{Object: p.Object}
		last = c.Create(ctx, obj.DeepCopy(), client.DryRunAll)
		return last != nil && strings.Contains(last.Error(), p.Expect), nil
	})
	if err != nil {
		return fmt.Errorf("a dry run of %s was not refused with %q (last answer: %v)", p.Object["kind"], p.Expect, last)
	}
	return nil
}

// describe fills in the URLs, versions and PIDs and writes the kubeconfig and the CA file.
func describe(ctx context.Context, o options, env *envtest.Environment, cfg *rest.Config, info *readyFile) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fail("discovery", err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return fail("server version", err)
	}
	etcdURL := env.ControlPlane.Etcd.URL.String()
	etcdVersion, err := etcdServerVersion(ctx, etcdURL)
	if err != nil {
		return fail("etcd version", err)
	}
	info.APIServer = component{URL: cfg.Host, Version: v.GitVersion}
	info.Etcd = component{URL: etcdURL, Version: etcdVersion}
	info.APIServer.PID, info.Etcd.PID = childPID(o.apiserver), childPID(o.etcd)
	info.CAFile = filepath.Join(o.dir, "ca.crt")
	if err := os.WriteFile(info.CAFile, cfg.CAData, 0o600); err != nil {
		return fail("CA file", err)
	}
	if err := writeKubeconfig(o.kubeconfig, o.context, cfg); err != nil {
		return fail("kubeconfig", err)
	}
	return nil
}

func etcdServerVersion(ctx context.Context, base string) (string, error) {
	u, err := url.JoinPath(base, "version")
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Server string `json:"etcdserver"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	return body.Server, nil
}

func writeKubeconfig(path, name string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// waitForStop blocks until a signal arrives (exit code 0) or a child dies (exit code 1).
func waitForStop(signals <-chan os.Signal, info *readyFile) int {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case sig := <-signals:
			fmt.Fprintf(os.Stderr, "tier-harness: %v: stopping\n", sig)
			return 0
		case <-tick.C:
			for name, pid := range map[string]int{"kube-apiserver": info.APIServer.PID, "etcd": info.Etcd.PID} {
				if !alive(pid) {
					fmt.Fprintf(os.Stderr, "tier-harness: %s (pid %d) exited: stopping the rest\n", name, pid)
					return 1
				}
			}
		}
	}
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// children lists the PIDs whose parent is this process (envtest puts each child in a process
// group of its own, so a signal to the harness's group does not reach them).
func children() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

func childPID(binary string) int {
	for _, pid := range children() {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err == nil && exe == binary {
			return pid
		}
	}
	return 0
}

func killChildren() {
	for _, pid := range children() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// abort kills every child as soon as it appears, and ends the harness if start-up does not
// return within 15 s.
func abort() {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		killChildren()
		time.Sleep(20 * time.Millisecond)
	}
	killChildren()
	os.Exit(130)
}
