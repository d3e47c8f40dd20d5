// Command gitops-validate checks rendered Kubernetes manifests offline.
//
// Every object of every YAML stream (files, or stdin with "-") is decoded strictly into its
// official Go type: the Kubernetes API types (k8s.io/api), Argo CD's Application/AppProject
// (argo-cd pkg/apis/application/v1alpha1) and prometheus-operator's ServiceMonitor/PodMonitor/
// PrometheusRule (pkg/apis/monitoring/v1). Strict decoding is what the API server does with
// `kubectl apply --validate=strict`: an unknown or duplicate field, a wrong type (a string where
// an int belongs), or a kind no schema knows fails the check. A few fields the API server
// requires but that decode fine when missing are checked by hand (requiredFields).
//
// Usage: kustomize build gitops/overlays/sandbox | gitops-validate -
//
//	gitops-validate [-allow-kind Kind,...] FILE|- ...
//	gitops-validate -normalize FILE|-
//
// -normalize validates nothing: it prints the objects in a canonical form (keys sorted, one YAML
// document per object, objects sorted by apiVersion, kind, namespace and name), so that two renders
// of the same manifests by different kustomize versions can be compared with diff
// (scripts/gitops-check.sh): quoting, indentation and document order do not count, values do.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	argov1alpha1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, batchv1.AddToScheme,
		networkingv1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme,
		argov1alpha1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

type result struct {
	objects int
	errs    []string
}

func main() {
	allow := flag.String("allow-kind", "", "comma-separated kinds accepted without a schema (e.g. CustomResourceDefinition)")
	normalize := flag.Bool("normalize", false, "print the objects in canonical form (sorted keys and objects) instead of validating")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: gitops-validate [-allow-kind K1,K2] FILE|- ...\n       gitops-validate -normalize FILE|-")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 || (*normalize && flag.NArg() != 1) {
		flag.Usage()
		os.Exit(2)
	}
	if *normalize {
		if err := printNormalized(os.Stdout, flag.Arg(0)); err != nil {
			fmt.Fprintln(os.Stderr, "gitops-validate -normalize:", err)
			os.Exit(1)
		}
		return
	}
	allowed := map[string]bool{}
	for _, k := range strings.Split(*allow, ",") {
		if k != "" {
			allowed[k] = true
		}
	}
	v := newValidator(allowed)
	var res result
	for _, name := range flag.Args() {
		var r io.Reader
		if name == "-" {
			r, name = os.Stdin, "<stdin>"
		} else {
			f, err := os.Open(name)
			if err != nil {
				res.errs = append(res.errs, err.Error())
				continue
			}
			defer f.Close()
			r = f
		}
		v.stream(name, r, &res)
	}
	for _, e := range res.errs {
		fmt.Fprintln(os.Stderr, "FAIL", e)
	}
	fmt.Printf("gitops-validate: %d objects, %d errors\n", res.objects, len(res.errs))
	if len(res.errs) > 0 || res.objects == 0 {
		os.Exit(1)
	}
}

type validator struct {
	scheme  *runtime.Scheme
	strict  *kjson.Serializer
	allowed map[string]bool
}

func newValidator(allowed map[string]bool) *validator {
	s := newScheme()
	return &validator{
		scheme:  s,
		strict:  kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true}),
		allowed: allowed,
	}
}

func (v *validator) stream(name string, r io.Reader, res *result) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			res.errs = append(res.errs, fmt.Sprintf("%s: document %d: %v", name, i, err))
			return
		}
		if len(bytes.TrimSpace(doc)) == 0 || isOnlyComments(doc) {
			continue
		}
		res.objects++
		id, err := v.object(doc)
		if err != nil {
			res.errs = append(res.errs, fmt.Sprintf("%s: %s: %v", name, id, err))
		}
	}
}

func isOnlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}

// object validates one YAML document and returns its identity ("apps/v1 Deployment ns/name").
func (v *validator) object(doc []byte) (string, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := sigsyaml.Unmarshal(doc, &head); err != nil {
		return "document", fmt.Errorf("not valid YAML: %w", err)
	}
	id := fmt.Sprintf("%s %s %s/%s", head.APIVersion, head.Kind, head.Metadata.Namespace, head.Metadata.Name)
	if head.APIVersion == "" || head.Kind == "" {
		return id, errors.New("apiVersion and kind are required")
	}
	if head.Metadata.Name == "" {
		return id, errors.New("metadata.name is required")
	}
	gvk := schema.FromAPIVersionAndKind(head.APIVersion, head.Kind)
	if !v.scheme.Recognizes(gvk) {
		if v.allowed[head.Kind] {
			return id, nil
		}
		return id, fmt.Errorf("no schema for %s (known groups: core, apps, autoscaling/v2, batch, networking.k8s.io, policy, rbac, argoproj.io/v1alpha1, monitoring.coreos.com/v1)", gvk)
	}
	obj, _, err := v.strict.Decode(doc, &gvk, nil)
	if err != nil {
		return id, err
	}
	if _, err := meta.Accessor(obj); err != nil {
		return id, err
	}
	return id, requiredFields(obj)
}

// requiredFields checks what the OpenAPI schema marks required but a Go zero value hides.
func requiredFields(obj runtime.Object) error {
	var problems []string
	need := func(ok bool, field string) {
		if !ok {
			problems = append(problems, field+" is required")
		}
	}
	podSpec := func(prefix string, p *corev1.PodSpec) {
		need(len(p.Containers) > 0, prefix+".containers")
		for i, c := range append(append([]corev1.Container{}, p.InitContainers...), p.Containers...) {
			need(c.Name != "", fmt.Sprintf("%s.containers[%d].name", prefix, i))
			need(c.Image != "", fmt.Sprintf("%s.containers[%d].image (%s)", prefix, i, c.Name))
			for _, e := range c.Env {
				need(e.Name != "", fmt.Sprintf("%s.containers[%d].env[].name", prefix, i))
			}
		}
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		need(o.Spec.Selector != nil, "spec.selector")
		podSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *appsv1.StatefulSet:
		need(o.Spec.Selector != nil, "spec.selector")
		podSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *batchv1.Job:
		podSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *corev1.Service:
		for i, p := range o.Spec.Ports {
			need(p.Port != 0, fmt.Sprintf("spec.ports[%d].port", i))
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		need(o.Spec.ScaleTargetRef.Kind != "" && o.Spec.ScaleTargetRef.Name != "", "spec.scaleTargetRef.kind/name")
		need(o.Spec.MaxReplicas > 0, "spec.maxReplicas")
	case *networkingv1.NetworkPolicy:
		// podSelector is required (may be empty {}); nothing a zero value hides.
	case *argov1alpha1.Application:
		need(o.Spec.Destination.Server != "" || o.Spec.Destination.Name != "", "spec.destination.server or .name")
		need(o.Spec.Source != nil || len(o.Spec.Sources) > 0, "spec.source or spec.sources")
		if s := o.Spec.Source; s != nil {
			need(s.RepoURL != "", "spec.source.repoURL")
		}
	case *monitoringv1.ServiceMonitor:
		need(len(o.Spec.Endpoints) > 0, "spec.endpoints")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// printNormalized writes every object of one YAML stream in canonical form (see -normalize).
func printNormalized(w io.Writer, name string) error {
	r := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	type object struct {
		key, label string
		yaml       []byte
	}
	var objects []object
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || isOnlyComments(doc) {
			continue
		}
		var obj map[string]any
		if err := sigsyaml.Unmarshal(doc, &obj); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		md, _ := obj["metadata"].(map[string]any)
		key := fmt.Sprintf("%v %v %v/%v", obj["apiVersion"], obj["kind"], md["namespace"], md["name"])
		out, err := sigsyaml.Marshal(obj) // through JSON: map keys come out sorted
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, key, err)
		}
		objects = append(objects, object{key, fmt.Sprintf("%v/%v", obj["kind"], md["name"]), out})
	}
	sort.SliceStable(objects, func(i, j int) bool { return objects[i].key < objects[j].key })
	for _, o := range objects {
		// the label line first: diff -F '^# ' names the object of each hunk by it
		if _, err := fmt.Fprintf(w, "---\n# %s\n%s", o.label, o.yaml); err != nil {
			return err
		}
	}
	return nil
}
