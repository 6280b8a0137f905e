package files

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/page"
)

// Entry is one entry of a listing: a file, or (Dir) a sub-directory with the number of files
// below it.
type Entry struct {
	Dir       bool
	Name      string
	Path      string // a directory's ends in "/"
	FileCount int64
	File      File // files only
}

// ListFiles lists the user's files (newest first, optionally of one project) or, with prefix,
// one directory of the tree of project (nil: the files outside projects): its files and its
// immediate sub-directories in byte order of their paths.
func (s *Service) ListFiles(ctx context.Context, user uuid.UUID, project *uuid.UUID, prefix *string, req page.Request) (page.Page[Entry], error) {
	if prefix != nil {
		return s.listDirectory(ctx, user, project, *prefix, req)
	}
	q := s.store.Queries()
	return page.Fetch(ctx, s.cursors, page.List[db.File, page.TimeID]{
		Name: "files", Owner: user, Filter: project,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.File, error) {
			at, id := after.Split()
			return q.ListFiles(ctx, db.ListFilesParams{UserID: user, ProjectID: project, BeforeCreated: at, BeforeID: id, MaxRows: limit})
		},
		Position: func(r db.File) page.TimeID { return page.At(r.CreatedAt, r.ID) },
		Size:     func(r db.File) int { return page.ItemOverhead + len(r.Name) + page.TextLen(r.Path) },
	}, req, func(r db.File) Entry {
		f := FromRow(r)
		return Entry{Name: f.Name, Path: f.Path, File: f}
	})
}

type dirPosition struct {
	Key string `json:"k"`
}

// dirRow is a directory entry with its file hydrated (files only).
type dirRow struct {
	db.ListDirectoryRow
	file *db.File
}

func (s *Service) listDirectory(ctx context.Context, user uuid.UUID, project *uuid.UUID, prefix string, req page.Request) (page.Page[Entry], error) {
	lo, hi, err := dirRange(prefix)
	if err != nil {
		return page.Page[Entry]{}, invalidPath(err, apperr.InQuery, "prefix")
	}
	q := s.store.Queries()
	return page.Fetch(ctx, s.cursors, page.List[dirRow, dirPosition]{
		Name: "file-tree", Owner: user, Filter: struct {
			P *uuid.UUID `json:"p"`
			D string     `json:"d"`
		}{project, lo},
		Fetch: func(ctx context.Context, after *dirPosition, limit int32) ([]dirRow, error) {
			afterKey := ""
			if after != nil {
				afterKey = after.Key
			}
			rows, err := q.ListDirectory(ctx, db.ListDirectoryParams{DirLo: lo, DirHi: hi, UserID: user, ProjectID: project, AfterKey: afterKey, MaxRows: limit})
			if err != nil {
				return nil, err
			}
			return s.hydrateDir(ctx, q, user, rows)
		},
		Position: func(r dirRow) dirPosition { return dirPosition{r.EntryKey} },
		Size:     func(r dirRow) int { return page.ItemOverhead + 2*len(r.EntryKey) },
	}, req, func(r dirRow) Entry {
		if r.file == nil {
			name := strings.TrimSuffix(r.EntryKey, "/")
			return Entry{Dir: true, Name: name[lastSlash(name)+1:], Path: r.EntryKey, FileCount: r.FileCount}
		}
		f := FromRow(*r.file)
		return Entry{Name: f.Name, Path: f.Path, File: f}
	})
}

// hydrateDir attaches the rows of the file entries (one query per page). A file deleted between
// the two reads drops out of the page.
func (s *Service) hydrateDir(ctx context.Context, q *db.Queries, user uuid.UUID, rows []db.ListDirectoryRow) ([]dirRow, error) {
	var ids []uuid.UUID
	for _, r := range rows {
		if !strings.HasSuffix(r.EntryKey, "/") {
			ids = append(ids, r.AnyID)
		}
	}
	byID := map[uuid.UUID]db.File{}
	if len(ids) > 0 {
		fs, err := q.FilesByID(ctx, db.FilesByIDParams{UserID: user, Ids: ids})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			byID[f.ID] = f
		}
	}
	out := make([]dirRow, 0, len(rows))
	for _, r := range rows {
		if strings.HasSuffix(r.EntryKey, "/") {
			out = append(out, dirRow{ListDirectoryRow: r})
			continue
		}
		if f, ok := byID[r.AnyID]; ok {
			out = append(out, dirRow{ListDirectoryRow: r, file: &f})
		}
	}
	return out, nil
}
