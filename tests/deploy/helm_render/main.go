// helm_render: renders a Helm chart's templates the way `helm template` does, for the tests of
// helm/gspo on machines without a helm binary. It uses Go's own text/template engine and the
// Sprig function library (both from Debian packages), so template syntax and Sprig functions
// behave exactly as in Helm; Helm's own additions are re-implemented here: include, tpl,
// required, toYaml, fromYaml, toJson's YAML siblings, and "<no value>" turned into "".
//
// Not provided (a template that uses them fails to render, which keeps the chart inside what
// this renderer and Helm agree on): lookup, .Capabilities, .Files, subcharts, hooks.
//
//	helm_render CHART_DIR OUT_DIR [-f values.yaml]... [--release NAME] [--namespace NS]
//
// Writes each rendered template to OUT_DIR/<path under the chart> (templates/x.yaml,
// templates/NOTES.txt); templates whose output is only whitespace are left out, as Helm does.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yaml2 "gopkg.in/yaml.v2"
	yaml3 "gopkg.in/yaml.v3"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "helm_render:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: helm_render CHART_DIR OUT_DIR [-f values.yaml]... [--release NAME] [--namespace NS]")
	}
	chartDir, outDir := args[0], args[1]
	release, namespace := "release-name", "default"
	var valueFiles []string
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return fmt.Errorf("%s needs a value", args[i])
		}
		switch args[i] {
		case "-f":
			valueFiles = append(valueFiles, args[i+1])
		case "--release":
			release = args[i+1]
		case "--namespace":
			namespace = args[i+1]
		default:
			return fmt.Errorf("unknown flag %s", args[i])
		}
	}

	chart, err := loadYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := loadYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		override, err := loadYAMLMap(f)
		if err != nil {
			return err
		}
		values = mergeValues(values, override)
	}

	chartName, _ := chart["name"].(string)
	root := template.New("chart").Option("missingkey=zero")
	root.Funcs(funcMap(root))
	names, err := parseTemplates(root, chartDir, chartName)
	if err != nil {
		return err
	}
	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chartObject(chart),
		"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
	}
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasPrefix(base, "_") {
			continue // partials only define templates
		}
		data := copyMap(top)
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var out bytes.Buffer
		if err := root.ExecuteTemplate(&out, name, data); err != nil {
			return err
		}
		text := strings.ReplaceAll(out.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		dest := filepath.Join(outDir, strings.TrimPrefix(name, chartName+"/"))
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dest, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// parseTemplates adds every file under templates/ to root, named "<chart>/templates/<file>" as
// Helm names them, and returns the names in order.
func parseTemplates(root *template.Template, chartDir, chartName string) ([]string, error) {
	var names []string
	dir := filepath.Join(chartDir, "templates")
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, path)
		name := chartName + "/" + filepath.ToSlash(rel)
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	sort.Strings(names)
	return names, err
}

// funcMap is Sprig's text functions plus Helm's additions, minus the environment readers Helm
// also removes.
func funcMap(root *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml2.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml3.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, fmt.Errorf("%s", msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var out bytes.Buffer
		err := root.ExecuteTemplate(&out, name, data)
		return out.String(), err
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var out bytes.Buffer
		err = t.Execute(&out, data)
		return strings.ReplaceAll(out.String(), "<no value>", ""), err
	}
	return f
}

// chartObject gives Chart.yaml's fields the capitalised names templates use (.Chart.AppVersion).
func chartObject(chart map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range chart {
		out[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return out
}

func loadYAMLMap(path string) (map[string]interface{}, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml3.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return m, nil
}

// mergeValues is Helm's coalescing of a values file over the chart's values: maps merge key by
// key, anything else replaces, and null deletes the key.
func mergeValues(base, override map[string]interface{}) map[string]interface{} {
	out := copyMap(base)
	for k, v := range override {
		if v == nil {
			delete(out, k)
			continue
		}
		bm, bok := out[k].(map[string]interface{})
		om, ook := v.(map[string]interface{})
		if bok && ook {
			out[k] = mergeValues(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

func copyMap(m map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
