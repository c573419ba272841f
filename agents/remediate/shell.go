package remediate

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
)

// ShellExecutor runs a runbook's command. It is off unless configured, and
// runs only programs on its allow-list, with the runbook's arguments as
// separate words (a parameter "x; rm -rf /" stays one argument: there is
// no shell to interpret it).
type ShellExecutor struct {
	Runbooks *Runbooks
	// Allow lists the programs (absolute paths) that may run.
	Allow   []string
	Timeout time.Duration
}

// Name is "shell".
func (e *ShellExecutor) Name() string { return "shell" }

// DryRun is false.
func (e *ShellExecutor) DryRun() bool { return false }

// Execute runs the proposal's runbook command.
func (e *ShellExecutor) Execute(ctx context.Context, p domain.Proposal) (string, error) {
	rb := e.Runbooks.Named(p.Params["runbook"])
	if rb == nil || len(rb.Command) == 0 {
		return "", fmt.Errorf("shell: only a runbook with a command runs here, and %s %s is none", p.Action, p.Target)
	}
	return e.run(ctx, rb.Command, p)
}

// Undo runs the runbook's undo command, if it has one.
func (e *ShellExecutor) Undo(ctx context.Context, p domain.Proposal) (string, error) {
	rb := e.Runbooks.Named(p.Params["runbook"])
	if rb == nil || len(rb.UndoCommand) == 0 {
		return "nothing to undo: the runbook has no undo_command", nil
	}
	return e.run(ctx, rb.UndoCommand, p)
}

func (e *ShellExecutor) run(ctx context.Context, command []string, p domain.Proposal) (string, error) {
	params := Params(p)
	params["service"] = p.Target
	argv := make([]string, len(command))
	for i, a := range command {
		for k, v := range params {
			a = strings.ReplaceAll(a, "{{"+k+"}}", v)
		}
		argv[i] = a
	}
	if !slices.Contains(e.Allow, argv[0]) {
		return "", fmt.Errorf("shell: %s is not on the allow-list (--remediation-shell-allow)", argv[0])
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	text := strings.TrimSpace(string(out))
	if len(text) > 4096 {
		text = text[:4096] + "…"
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return text, fmt.Errorf("shell: %s exited with %d: %s", argv[0], exit.ExitCode(), text)
	}
	if err != nil {
		return text, fmt.Errorf("shell: %s: %w", argv[0], err)
	}
	return text, nil
}
