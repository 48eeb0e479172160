// The support FAQ as training text. Each question also appears lowercased and
// without its final punctuation, as people type into a chat box, so the tiny
// model answers "how do i cancel my plan" as well as the FAQ's own wording.
export function faqTrainingText(faq: string): string {
  const lines = faq.trim().split('\n');
  let text = '';
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const question = lines[i]!.replace(/^Q: /, '');
    const answer = lines[i + 1]!;
    const bare = question.replace(/[?!.]$/, '');
    for (const variant of new Set([question, question.toLowerCase(), bare, bare.toLowerCase()])) {
      text += `Q: ${variant}\n${answer}\n`;
    }
  }
  return text;
}
