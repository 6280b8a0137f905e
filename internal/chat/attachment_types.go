package chat

import (
	"bytes"
	"errors"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"
)

// textTypes are the application/* types of text files (code, data, config) that mimetype's
// sniffing reports; every text/* type and every +json / +xml type is text as well.
var textTypes = map[string]bool{
	"application/json": true, "application/x-ndjson": true, "application/xml": true,
	"application/javascript": true, "application/x-javascript": true, "application/ecmascript": true,
	"application/x-sh": true, "application/x-shellscript": true, "application/x-python": true,
	"application/yaml": true, "application/x-yaml": true, "application/toml": true,
	"application/sql": true, "application/x-subrip": true, "application/x-php": true,
	"image/svg+xml": true, // an image type, but Anthropic takes no SVG images: its XML is the useful part
}

// classify decides from the stored (sniffed) content type what a file becomes: an image block
// for the image types Anthropic takes, a PDF document, a text document, or nothing.
func classify(contentType string) (string, attachKind) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType, unsupported
	}
	switch {
	case mediaType == "image/png", mediaType == "image/jpeg", mediaType == "image/gif", mediaType == "image/webp":
		return mediaType, asImage
	case mediaType == "application/pdf":
		return mediaType, asPDF
	case textTypes[mediaType], strings.HasPrefix(mediaType, "text/"),
		strings.HasSuffix(mediaType, "+json"), strings.HasSuffix(mediaType, "+xml"):
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
			return mediaType + "; charset=" + cs, unsupported // only UTF-8 text reaches the model as text
		}
		return mediaType, asText
	}
	return mediaType, unsupported
}

// utf8Text returns data as text; a byte order mark is dropped.
func utf8Text(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return "", errors.New("the text file is not valid UTF-8")
	}
	if len(data) == 0 {
		return "", errors.New("the text file is empty") // the upstream refuses empty documents
	}
	return string(data), nil
}

// pageObject matches a page object's type entry (/Type /Page, not /Pages).
var pageObject = regexp.MustCompile(`/Type\s*/Page([^A-Za-z0-9]|$)`)

// pdfPages counts the page objects a PDF declares in the clear, without parsing it. Pages inside
// compressed object streams are not seen (such a PDF over the limit is refused by the upstream
// instead, a 400 all the same), and a page rewritten by an incremental update counts twice.
func pdfPages(data []byte) int {
	return len(pageObject.FindAllIndex(data, -1))
}
