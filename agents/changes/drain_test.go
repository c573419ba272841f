package changes

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestMinerGroupsLinesByTemplate(t *testing.T) {
	m := NewMiner()
	a := m.Add("connection to 10.0.0.12:5432 refused after 3 retries")
	b := m.Add("connection to 10.0.0.7:5432 refused after 12 retries")
	c := m.Add("order placed ord-0000ab12 for user 4f9c2e1a-1b2c-4d5e-8f90-a1b2c3d4e5f6")
	d := m.Add("order placed ord-000ffe01 for user 0b7c2e1a-1b2c-4d5e-8f90-a1b2c3d4e5f7")
	e := m.Add("cache miss key=user:42")
	assert.Same(t, a, b, "the same line with other numbers and addresses")
	assert.Equal(t, "connection to <ip> refused after <num> retries", a.Text())
	assert.Same(t, c, d)
	assert.Equal(t, "order placed <*> for user <id>", c.Text(), "a token that differs becomes a variable")
	assert.NotSame(t, a, e)
	assert.Equal(t, "cache miss key=user:42", e.Text(), "an unknown token with digits stays")
	f := m.Add("GET /cart 200 12.5ms")
	g := m.Add("GET /cart 500 900.1ms")
	assert.Same(t, f, g)
	assert.Equal(t, "GET /cart <num> <num>", f.Text())
}

func TestMinerIsBounded(t *testing.T) {
	m := NewMiner()
	for i := 0; i < MaxTemplates+50; i++ {
		m.Add(strings.Repeat("w", i%7+1) + " " + string(rune('a'+i%26)) + strings.Repeat(" x", i%40))
	}
	assert.LessOrEqual(t, m.count, MaxTemplates)
}

// FuzzMiner: any line is filed without a panic, under a template of as
// many tokens as the line has (at most maxTokens), the same line under
// the same template.
func FuzzMiner(f *testing.F) {
	for _, s := range []string{"", " ", "GET / 200 1.2ms", "a=1 b=2", "0x1f 10.0.0.1:80 (42)", "\"quoted 12\"", "=", "==x", strings.Repeat("a ", 100)} {
		f.Add(s, s+" 7")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		m := NewMiner()
		ta := m.Add(a)
		tb := m.Add(b)
		for _, c := range []struct {
			line string
			t    *Template
		}{{a, ta}, {b, tb}} {
			n := len(strings.Fields(c.line))
			if n > maxTokens {
				n = maxTokens
			}
			if n == 0 {
				if c.t != other {
					t.Fatalf("an empty line made a template")
				}
				continue
			}
			if len(c.t.Tokens) != n {
				t.Fatalf("%q: %d tokens, template %q", c.line, n, c.t.Text())
			}
		}
		if m.Add(a) != ta {
			t.Fatalf("the same line went elsewhere")
		}
		if utf8.ValidString(a) && !utf8.ValidString(ta.Text()) {
			t.Fatalf("a valid line made an invalid template")
		}
	})
}

// FuzzLineSeverity: any line is read as a severity without a panic, the
// same way twice, and a line with an exception's class name is an error.
func FuzzLineSeverity(f *testing.F) {
	for _, s := range []string{
		"16:43:17.120 ERROR  c.s.ContactsServiceImpl#37 TraceID: dc7d SpanID: b6ce [findContactsById][No contacts]",
		"\tat com.example.Foo.bar(Foo.java:12)", "level=warn msg=slow", "Traceback (most recent call last):",
		"java.lang.NullPointerException: x", "[INFO] ok", "", "Error", "eRROR:", "x.Error ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		a, b := LineSeverity(line), LineSeverity(line)
		if a != b || a < sevUnknown || a > sevError {
			t.Fatalf("%q: %d then %d", line, a, b)
		}
	})
}

// TestLineSeverity: a line's level as people read it.
func TestLineSeverity(t *testing.T) {
	f := func(line string, want int) {
		t.Helper()
		assert.Equal(t, want, LineSeverity(line), line)
	}
	f("16:43:17.120 ERROR  c.s.ContactsServiceImpl#37 TraceID: dc7d [findContactsById][No contacts according to contactsId]", sevError)
	f("16:43:08.356 INFO  c.s.ContactsServiceImpl#31 FIND CONTACTS BY ID: 415d", sevInfo)
	f("2024-01-01T00:00:00Z WARN o.s.Impl#72 [getSoldTickets][No content]", sevWarn)
	f(`ts=2024-01-01 level=error msg="connection refused"`, sevError)
	f("[ERROR] boom", sevError)
	f("\tat com.example.Foo.bar(Foo.java:12)", sevError)
	f("Caused by: java.io.IOException: closed", sevError)
	f("16:43:08 INFO  Servlet.service() threw exception [java.lang.IllegalStateException: x]", sevError)
	f("ValueError: bad input", sevError)
	f("panic: runtime error: index out of range", sevError)
	f("payment failed for order 42, retrying", sevUnknown) // a business word is no level
	f("[ContactsService][Error]", sevUnknown)
	f("getError returned nil", sevUnknown)
	f(`{"level":"error","ts":1700000000.1,"msg":"dial tcp 10.0.0.1:5432: connection refused"}`, sevError)
	f(`{"level":30,"msg":"request done"}`, sevInfo)
	f(`{"level":50,"msg":"boom"}`, sevError)
	f(`{"log.level":"WARN","message":"slow"}`, sevWarn)
	f(`{"msg":"no level here"}`, sevUnknown)
	f("", sevUnknown)
}
