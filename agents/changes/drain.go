package changes

import (
	"regexp"
	"strconv"
	"strings"
)

// Miner groups log lines into templates the way Drain does (He et al.,
// ICWS 2017): lines are split into tokens, variable tokens (numbers, ids,
// addresses) are masked, and a line joins the most similar template of the
// same length and first token when at least Similarity of its tokens
// agree; the tokens that differ become <*>. Not safe for concurrent use.
type Miner struct {
	Similarity float64
	groups     map[string][]*Template
	count      int
}

// MaxTemplates bounds a miner: past it, lines that fit no template are
// counted under one "other" template rather than making more.
const MaxTemplates = 2000

// Template is a group of log lines that differ only in their variables.
type Template struct {
	Tokens []string
	// Example is the first line that made the template.
	Example string
}

// Text is the template as a line, variables as <*>.
func (t *Template) Text() string { return strings.Join(t.Tokens, " ") }

// NewMiner makes a miner with Drain's usual similarity of one half.
func NewMiner() *Miner { return &Miner{Similarity: 0.5, groups: map[string][]*Template{}} }

var other = &Template{Tokens: []string{"<other>"}}

// Add files a line under its template, making or widening one.
func (m *Miner) Add(line string) *Template { return m.AddClass(line, false) }

// AddClass files a line among the lines of its class only (error lines
// apart from the others), so that a level token is never widened to <*>.
func (m *Miner) AddClass(line string, errorClass bool) *Template {
	tokens := tokenize(line)
	if len(tokens) == 0 {
		return other
	}
	key := groupKey(tokens)
	if errorClass {
		key = "!" + key
	}
	var best *Template
	bestSim := -1.0
	for _, t := range m.groups[key] {
		if s := similarity(t.Tokens, tokens); s > bestSim {
			best, bestSim = t, s
		}
	}
	if best != nil && bestSim >= m.Similarity {
		for i, tok := range tokens {
			if best.Tokens[i] != tok {
				best.Tokens[i] = "<*>"
			}
		}
		return best
	}
	if m.count >= MaxTemplates {
		return other
	}
	m.count++
	t := &Template{Tokens: tokens, Example: line}
	m.groups[key] = append(m.groups[key], t)
	return t
}

// groupKey is Drain's first levels of its tree: the length and the first
// token that is a word, not a variable nor a level (so that a line's time
// stamp and level do not decide its group; in most layouts that token is
// the logger or the message's first word).
func groupKey(tokens []string) string {
	first := firstWord(tokens)
	if first == "" {
		first = "<*>"
	}
	// The count, a space, the word: a token holds no white space, so no
	// two lengths can make one key ("|" repeated per token did: "|=="
	// and "== 0" met).
	return strconv.Itoa(len(tokens)) + " " + first
}

// variable says whether a token was masked as a variable.
func variable(t string) bool {
	if _, v, ok := strings.Cut(t, "="); ok {
		t = v
	}
	return strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">")
}

// similarity is the share of a line's words (tokens that are not masked
// variables) that the template has too: masked tokens agree everywhere and
// would make lines of one layout (time, ids, level) look alike whatever
// their message.
func similarity(a, b []string) float64 {
	same, words := 0, 0
	for i := range a {
		if variable(b[i]) {
			continue
		}
		words++
		if a[i] == b[i] || a[i] == "<*>" {
			same++
		}
	}
	if words == 0 {
		return 1
	}
	return float64(same) / float64(words)
}

var (
	uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	ipRe   = regexp.MustCompile(`^\d{1,3}(\.\d{1,3}){3}(:\d+)?$`)
	numRe  = regexp.MustCompile(`^[-+]?\d+([.,:]\d+)*[a-zA-Zµ%]{0,3}$`)
	hexRe  = regexp.MustCompile(`^(0x)?[0-9a-fA-F]{8,}$`)
)

// maxTokens bounds the tokens of a line looked at: the rest is one token.
const maxTokens = 64

// tokenize splits a line on white space and masks its variables. Quotes,
// brackets and trailing punctuation are trimmed from a token before it is
// judged, so `id=42,` and `(10.0.0.1)` are caught.
func tokenize(line string) []string {
	fields := strings.Fields(line)
	if len(fields) > maxTokens {
		fields = append(fields[:maxTokens-1], "<*>")
	}
	for i, f := range fields {
		fields[i] = mask(f)
	}
	return fields
}

func mask(tok string) string {
	key, val, hasEq := strings.Cut(tok, "=")
	if !hasEq {
		key, val = "", tok
	}
	core := strings.Trim(val, `"'()[]{},;.`)
	var m string
	switch {
	case core == "":
		return tok
	case uuidRe.MatchString(core), hexRe.MatchString(core) && strings.ContainsAny(core, "0123456789"):
		m = "<id>"
	case ipRe.MatchString(core):
		m = "<ip>"
	case numRe.MatchString(core):
		m = "<num>"
	case len(core) >= 16 && strings.ContainsAny(core, "0123456789") && !strings.ContainsAny(core, "/."):
		m = "<id>" // an opaque token: a session, a request id
	default:
		return tok
	}
	if hasEq {
		return key + "=" + m
	}
	return m
}
