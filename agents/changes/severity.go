package changes

import (
	"encoding/json"
	"strings"

	"github.com/inquest/inquest/domain"
)

// Errorish says whether a log record reports a failure (an error, not a
// warning: services warn about business cases all day): by its severity
// when the record has one (or an error status), else by its line. Most
// container logs reach a collector as bare lines with no severity, and a
// log analysis that believed only the field would see no errors at all.
func Errorish(e *domain.Event) bool {
	if e.Status == domain.StatusError {
		return true
	}
	if e.Severity != "" {
		return severe(e.Severity)
	}
	return LineSeverity(e.Body) >= sevError
}

// Severity levels a line can be read as.
const (
	sevUnknown = iota
	sevInfo
	sevWarn
	sevError
)

// levelWords are the level tokens that logging libraries print (log4j,
// logback, zap, logrus, Python's logging, glog's first letter is left out:
// one letter is too easily a word).
var levelWords = map[string]int{
	"TRACE": sevInfo, "DEBUG": sevInfo, "INFO": sevInfo, "NOTICE": sevInfo,
	"WARN": sevWarn, "WARNING": sevWarn,
	"ERROR": sevError, "ERR": sevError, "FATAL": sevError, "CRITICAL": sevError, "CRIT": sevError,
	"SEVERE": sevError, "PANIC": sevError, "EMERG": sevError, "ALERT": sevError,
}

// levelTokens is how many leading tokens of a line may hold its level
// (time, date, thread and logger name come first in common layouts).
const levelTokens = 6

// LineSeverity reads a line's severity the way a person scanning it would:
// a level token near its start (`16:43:17.120 ERROR c.s.Impl#37 ...`,
// `level=error`, `[WARN]`), else a thrown exception or a stack-trace frame
// (`java.lang.NullPointerException`, `\tat com.example.Foo.bar(Foo.java:12)`,
// `Traceback (most recent call last)`, `panic:`), which are errors whatever
// the line's level. A business message that merely contains the word
// "failed" is not an error by itself.
func LineSeverity(line string) int {
	if sev, ok := jsonLevel(line); ok {
		return sev
	}
	head := line
	if len(head) > 200 {
		head = head[:200]
	}
	for i, tok := range strings.Fields(head) {
		if i >= levelTokens {
			break
		}
		tok = strings.Trim(tok, "[]():|<>,")
		if k, v, ok := strings.Cut(tok, "="); ok && (strings.EqualFold(k, "level") || strings.EqualFold(k, "lvl") || strings.EqualFold(k, "severity")) {
			tok = strings.Trim(v, `"'`)
		}
		if sev, ok := levelWords[strings.ToUpper(tok)]; ok {
			if sev < sevError && thrown(line) {
				return sevError
			}
			return sev
		}
	}
	if thrown(line) {
		return sevError
	}
	return sevUnknown
}

// jsonLevel reads the level of a structured (JSON) line: its "level",
// "severity", "lvl" or "log.level" field, as zap, logrus, bunyan, pino and
// ECS write it (a word, or pino's and bunyan's numbers: 50 and up are
// errors, 40 warnings). ok is false for a line that is not a JSON object
// with such a field.
func jsonLevel(line string) (int, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "{") || !strings.HasSuffix(t, "}") {
		return sevUnknown, false
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(t), &rec); err != nil {
		return sevUnknown, false
	}
	for _, k := range []string{"level", "severity", "lvl", "log.level", "levelname"} {
		switch v := rec[k].(type) {
		case string:
			if sev, ok := levelWords[strings.ToUpper(v)]; ok {
				return sev, true
			}
		case float64:
			switch {
			case v >= 50:
				return sevError, true
			case v >= 40:
				return sevWarn, true
			default:
				return sevInfo, true
			}
		}
	}
	return sevUnknown, false
}

// thrown says whether a line shows an exception or a stack frame.
func thrown(line string) bool {
	t := strings.TrimLeft(line, " \t")
	switch {
	case strings.HasPrefix(t, "at ") && strings.Contains(t, "(") && strings.Contains(t, ")"),
		strings.HasPrefix(t, "Caused by: "),
		strings.HasPrefix(t, "Traceback (most recent call last)"),
		strings.HasPrefix(t, "panic: "),
		strings.HasPrefix(t, "goroutine ") && strings.Contains(t, "[running]"):
		return true
	}
	return exceptionName(line)
}

// exceptionName finds a qualified name ending in Exception or Error
// (java.lang.IllegalStateException, ValueError:), the way runtimes print a
// thrown exception's class.
func exceptionName(line string) bool {
	for _, suffix := range []string{"Exception", "Error"} {
		for from := 0; ; {
			i := strings.Index(line[from:], suffix)
			if i < 0 {
				break
			}
			i += from
			end := i + len(suffix)
			from = end
			// The word must start with an upper-case class name, and be
			// followed by the end, a colon or a space.
			if end < len(line) && !strings.ContainsRune(": \t\n", rune(line[end])) {
				continue
			}
			start := i
			for start > 0 && isIdent(line[start-1]) {
				start--
			}
			word := line[start:i]
			if word == "" {
				continue
			}
			if c := word[0]; c >= 'A' && c <= 'Z' {
				return true
			}
			if dot := strings.LastIndexByte(word, '.'); dot >= 0 && dot+1 < len(word) && word[dot+1] >= 'A' && word[dot+1] <= 'Z' {
				return true
			}
		}
	}
	return false
}

func isIdent(c byte) bool {
	return c == '.' || c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
