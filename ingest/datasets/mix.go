package datasets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// The "labelled-mix" source reads several datasets in one pipeline, so
// that one manifest holds the mixed corpus (and `medmd shards stats` counts
// it per source and task). Each dataset keeps its own source name on its
// samples and its own parameters, given as "dataset.field" entries.

const mixName = "labelled-mix"

type entry struct {
	spec ingest.Spec
	new  ingest.SourceFactory
}

// local mirrors this package's registrations so the mix can build them.
var local = map[string]entry{}

// register registers a dataset source with ingest and with the mix.
func register(spec ingest.Spec, f ingest.SourceFactory) {
	local[spec.Name] = entry{spec, f}
	ingest.RegisterSource(spec, f)
}

func init() {
	ingest.RegisterSource(ingest.Spec{
		Name:    mixName,
		Summary: "several labelled datasets in one pipeline (one mixed manifest); each keeps its source name and parameters",
		Fields: []ingest.Field{
			{Name: "roots", Type: ingest.TypeMap, Required: true,
				Description: "dataset source name → its root folder (relative to the pipelines file); datasets are read in name order",
				Example:     "{vqa-rad: datasets/VQA_RAD, chexpert: datasets/CheXpert-v1.0-small}"},
			{Name: "params", Type: ingest.TypeMap, Default: map[string]string{},
				Description: "per-dataset parameters as \"dataset.field: value\" (lists comma-separated, mappings as comma-separated key=value pairs)",
				Example:     "{chexpert.uncertain: ones, chestxray14.sample_ratio: \"0.2\"}"},
		},

		// Its datasets may carry patient ids (TestMixPatientIDs).
		PatientIDs: true,
	}, newMix)
}

type mix struct {
	names []string
	srcs  []ingest.Source
}

// mixUnit wraps a dataset's unit.
type mixUnit struct {
	src int
	u   ingest.Unit
}

func newMix(p ingest.Params, baseDir string) (ingest.Source, error) {
	roots := p.Map("roots")
	if len(roots) == 0 {
		return nil, fmt.Errorf("roots: no datasets")
	}
	extra := map[string]map[string]string{}
	for k, v := range p.Map("params") {
		ds, field, ok := strings.Cut(k, ".")
		if !ok {
			return nil, fmt.Errorf("params: key %q is not dataset.field", k)
		}
		if _, ok := roots[ds]; !ok {
			return nil, fmt.Errorf("params: %q names dataset %q, which has no root", k, ds)
		}
		if extra[ds] == nil {
			extra[ds] = map[string]string{}
		}
		extra[ds][field] = v
	}
	m := &mix{}
	for _, name := range slices.Sorted(maps.Keys(roots)) {
		e, ok := local[name]
		if !ok {
			return nil, fmt.Errorf("roots: unknown dataset %q (have %s)", name, strings.Join(slices.Sorted(maps.Keys(local)), ", "))
		}
		sp, err := specParams(e.spec, extra[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		sp[pRoot] = roots[name]
		src, err := e.new(sp, baseDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m.names = append(m.names, name)
		m.srcs = append(m.srcs, src)
	}
	return m, nil
}

// specParams fills a spec's defaults and overrides them from text values,
// converted to each field's type.
func specParams(spec ingest.Spec, over map[string]string) (ingest.Params, error) {
	p := ingest.Params{}
	byName := map[string]ingest.Field{}
	for _, f := range spec.Fields {
		byName[f.Name] = f
		if f.Default != nil {
			p[f.Name] = f.Default
		}
	}
	for _, k := range slices.Sorted(maps.Keys(over)) {
		v := over[k]
		f, ok := byName[k]
		if !ok {
			return nil, fmt.Errorf("unknown field %q", k)
		}
		var err error
		switch f.Type {
		case ingest.TypeString:
			p[k] = v
		case ingest.TypeInt:
			p[k], err = strconv.Atoi(v)
		case ingest.TypeFloat:
			p[k], err = strconv.ParseFloat(v, 64)
		case ingest.TypeBool:
			p[k], err = strconv.ParseBool(v)
		case ingest.TypeStrings:
			var l []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					l = append(l, s)
				}
			}
			p[k] = l
		case ingest.TypeDuration:
			p[k], err = time.ParseDuration(v)
		case ingest.TypeMap:
			m := map[string]string{}
			for _, pair := range strings.Split(v, ",") {
				if pair = strings.TrimSpace(pair); pair == "" {
					continue
				}
				from, to, ok := strings.Cut(pair, "=")
				if !ok {
					err = fmt.Errorf("%q is not key=value", pair)
					break
				}
				m[strings.TrimSpace(from)] = strings.TrimSpace(to)
			}
			p[k] = m
		default:
			err = fmt.Errorf("type %s cannot be set here", f.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", k, err)
		}
		if len(f.Enum) > 0 && !contains(f.Enum, v) {
			return nil, fmt.Errorf("field %q: %q not one of %s", k, v, strings.Join(f.Enum, ", "))
		}
	}
	return p, nil
}

func (m *mix) Plan(ctx context.Context) ([]ingest.Unit, error) {
	var out []ingest.Unit
	for i, src := range m.srcs {
		units, err := src.Plan(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.names[i], err)
		}
		for _, u := range units {
			w := u
			w.ID = m.names[i] + "/" + u.ID
			w.Data = mixUnit{i, u}
			out = append(out, w)
		}
	}
	return out, nil
}

func (m *mix) Read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	mu, ok := u.Data.(mixUnit)
	if !ok {
		return nil, fmt.Errorf("%s: not a %s unit", u.ID, mixName)
	}
	return m.srcs[mu.src].Read(ctx, mu.u)
}
