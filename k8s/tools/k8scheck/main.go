// Command k8scheck renders kustomizations with the kustomize library that kubectl 1.32 embeds
// (kustomize/api v0.18.0, i.e. kustomize v5.5.0) and decodes every object strictly against the
// Kubernetes 1.32 API types (k8s.io/api v0.32), as `kubectl apply` does with its default
// `--validate=strict`: unknown fields, duplicate fields, wrong types and unregistered kinds are
// errors. Gateway API v1 objects (Gateway, HTTPRoute, ...) are decoded against sigs.k8s.io/gateway-api
// v1.2.1.
//
//	k8scheck render DIR...   render each kustomization, validate every object
//	k8scheck validate        validate a YAML stream read from standard input
//	k8scheck build DIR       print the rendered YAML, as `kubectl kustomize DIR` does
//
// render and validate print JSON on standard output: one entry per input with the objects (as JSON) and the
// errors found; the exit code is 0 when the inputs could be read and rendered, whatever they hold.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

type problem struct {
	Object string `json:"object"`
	Error  string `json:"error"`
}

type result struct {
	Target  string            `json:"target"`
	Objects []json.RawMessage `json:"objects"`
	Errors  []problem         `json:"errors"`
}

// The built-in API of Kubernetes 1.32 plus the Gateway API v1 (standard channel, v1.2.1), whose
// HTTPRoutes and Gateway are the platform's primary way in.
var strict = func() runtime.Decoder {
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := gatewayv1.Install(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

// check decodes one object (YAML or JSON) strictly and returns it as JSON with its problem, if any.
func check(doc []byte) (json.RawMessage, *problem) {
	asJSON, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, &problem{Object: "?", Error: err.Error()}
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(asJSON, &meta)
	id := fmt.Sprintf("%s %s/%s", meta.APIVersion, meta.Kind, meta.Metadata.Name)
	if _, _, err := strict.Decode(asJSON, nil, nil); err != nil {
		return asJSON, &problem{Object: id, Error: err.Error()}
	}
	return asJSON, nil
}

func validate(target string, docs [][]byte) result {
	r := result{Target: target, Objects: []json.RawMessage{}, Errors: []problem{}}
	for _, doc := range docs {
		if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "null" {
			continue
		}
		obj, p := check(doc)
		if obj != nil {
			r.Objects = append(r.Objects, obj)
		}
		if p != nil {
			r.Errors = append(r.Errors, *p)
		}
	}
	return r
}

func build(dir string) (resmap.ResMap, error) {
	opts := krusty.MakeDefaultOptions()
	// `kubectl kustomize` (and `kustomize build`) default to the legacy order: namespaces and
	// other cluster-wide objects before the workloads that need them.
	opts.Reorder = krusty.ReorderOptionLegacy
	resources, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return resources, nil
}

func render(dir string) (result, error) {
	resources, err := build(dir)
	if err != nil {
		return result{}, err
	}
	var docs [][]byte
	for _, res := range resources.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			return result{}, fmt.Errorf("%s: %w", dir, err)
		}
		docs = append(docs, doc)
	}
	return validate(dir, docs), nil
}

func splitYAML(in io.Reader) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8scheck render DIR... | k8scheck validate < objects.yaml")
		os.Exit(2)
	}
	var out []result
	switch os.Args[1] {
	case "render":
		for _, dir := range os.Args[2:] {
			r, err := render(dir)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			out = append(out, r)
		}
	case "build":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: k8scheck build DIR")
			os.Exit(2)
		}
		resources, err := build(os.Args[2])
		if err == nil {
			var out []byte
			if out, err = resources.AsYaml(); err == nil {
				_, err = os.Stdout.Write(out)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	case "validate":
		docs, err := splitYAML(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "reading standard input:", err)
			os.Exit(1)
		}
		out = append(out, validate("stdin", docs))
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
