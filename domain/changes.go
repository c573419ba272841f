package domain

// ChangeTypeAttr is the attribute that makes an event a change and says
// which kind: deploy, config, feature_flag, rollback, ... Events named
// "deploy" are changes without it (as Inquest's first deploy events were).
const ChangeTypeAttr = "change.type"

// ChangeType tells whether an event is a change, and which kind.
func ChangeType(e *Event) (string, bool) {
	if e.Kind != KindEvent && e.Kind != KindLog {
		return "", false
	}
	if t, ok := e.Attrs.Get(ChangeTypeAttr); ok && t != "" {
		return t, true
	}
	if e.Kind == KindEvent && e.Name == "deploy" {
		return "deploy", true
	}
	return "", false
}
