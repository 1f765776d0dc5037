// Command eaf-grype-fixture-db builds a Grype vulnerability database from vunnel-format records with grype's own
// DB build code (grype/db.Build at schema v6, the schema the pinned grype reads) and packages it as the archive and
// latest.json that `grype db import` and grype's update client take.
//
// The image-scan tests use it so the real scanner runs here on a small DB; at the site grype downloads the
// published DB instead (see docs/apps.md).
//
// Usage:
//
//	eaf-grype-fixture-db -records DIR -out DIR -built 2026-01-01T00:00:00Z
//
// DIR holds one directory per provider (e.g. debian/), each with the records as *.json envelopes
// ({"schema": ..., "identifier": ..., "item": ...}), exactly as vunnel writes them.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/anchore/grype/grype/db"
	"github.com/anchore/grype/grype/db/provider"
	v6build "github.com/anchore/grype/grype/db/v6/build"
)

// vunnel's provider-workspace-state schema: what provider.ReadState parses.
const stateSchemaVersion = "1.0.3"

func main() {
	records := flag.String("records", "", "directory of provider directories of *.json records")
	out := flag.String("out", "", "output directory (vulnerability.db, the archive, latest.json)")
	built := flag.String("built", "", "build and capture time, RFC 3339 (fixed, so the output is reproducible)")
	flag.Parse()
	if *records == "" || *out == "" || *built == "" {
		fail(fmt.Errorf("-records, -out and -built are required"))
	}
	timestamp, err := time.Parse(time.RFC3339, *built)
	if err != nil {
		fail(fmt.Errorf("-built %q: %w", *built, err))
	}
	if err := run(*records, *out, timestamp.UTC()); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "eaf-grype-fixture-db: %v\n", err)
	os.Exit(1)
}

func run(recordsDir, outDir string, built time.Time) error {
	workspace := filepath.Join(outDir, "workspace")
	if err := os.RemoveAll(outDir); err != nil {
		return err
	}
	if err := os.MkdirAll(workspace, 0o755); err != nil {
		return err
	}
	providers, err := os.ReadDir(recordsDir)
	if err != nil {
		return err
	}
	var states provider.States
	for _, entry := range providers {
		if !entry.IsDir() {
			continue
		}
		state, err := writeWorkspace(workspace, filepath.Join(recordsDir, entry.Name()), entry.Name(), built)
		if err != nil {
			return fmt.Errorf("provider %s: %w", entry.Name(), err)
		}
		states = append(states, *state)
	}
	if len(states) == 0 {
		return fmt.Errorf("%s holds no provider directory", recordsDir)
	}
	dbDir := filepath.Join(outDir, "db")
	err = db.Build(db.BuildConfig{
		SchemaVersion:       6,
		Directory:           dbDir,
		States:              states,
		Timestamp:           built,
		IncludeCPEParts:     []string{"a", "h", "o"},
		InferNVDFixVersions: true,
		Hydrate:             true,
		BatchSize:           100,
		SQLiteCacheSizeKiB:  16 * 1024,
	})
	if err != nil {
		return fmt.Errorf("building the DB: %w", err)
	}
	// tar.gz: packaged in-process, no external compressor needed.
	return v6build.CreateArchive(dbDir, "tar.gz", nil)
}

// writeWorkspace lays out one provider's records as a vunnel workspace (results, listing, metadata.json) and reads
// it back the way grype-db does.
func writeWorkspace(root, sourceDir, name string, built time.Time) (*provider.State, error) {
	files, err := filepath.Glob(filepath.Join(sourceDir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json records in %s", sourceDir)
	}
	writer := provider.NewWorkspaceWriter(root, name)
	var listing []provider.File
	for _, path := range files {
		file, err := writer.CopyResultFrom(path)
		if err != nil {
			return nil, err
		}
		listing = append(listing, *file)
	}
	if err := writer.WriteListing(listing); err != nil {
		return nil, err
	}
	listingPath, err := filepath.Rel(writer.Path(), writer.ListingPath())
	if err != nil {
		return nil, err
	}
	state := provider.State{
		Provider:  name,
		Version:   1,
		Processor: "eaf-grype-fixture-db",
		Schema: provider.Schema{
			Version: stateSchemaVersion,
			URL: "https://raw.githubusercontent.com/anchore/vunnel/main/schema/provider-workspace-state/schema-" +
				stateSchemaVersion + ".json",
		},
		URLs:      []string{"fixture:" + name},
		Timestamp: built,
		Listing:   &provider.File{Path: filepath.ToSlash(listingPath), Algorithm: "xxh64"},
		Store:     "flat-file",
	}
	if err := writer.WriteState(state); err != nil {
		return nil, err
	}
	return provider.ReadState(filepath.Join(writer.Path(), "metadata.json"))
}
