#!/usr/bin/env bash
# Post the change report on pull request $PR of $GITHUB_REPOSITORY, or edit the comment that
# already holds it (found by the marker its first line carries): one comment per PR, updated
# on each push. Needs only GH_TOKEN, the token GitHub Actions provides.
# Usage: post-pr-comment.sh FILE
set -euo pipefail
file=$1
marker=$(head -n 1 "$file")
case "$marker" in
  '<!--'*'-->') ;;
  *) echo "post-pr-comment.sh: $file does not start with its marker comment" >&2; exit 1 ;;
esac
id=$(gh api "repos/$GITHUB_REPOSITORY/issues/$PR/comments" --paginate \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$file" >/dev/null
  echo "Edited comment $id on #$PR."
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR/comments" -F "body=@$file" >/dev/null
  echo "Posted the change report on #$PR."
fi
