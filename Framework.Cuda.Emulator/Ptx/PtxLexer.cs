namespace Framework.Cuda.Emulator.Ptx;

internal enum TokenKind : byte { Word, Number, Punct, String, End }

/// <summary>A token with its 1-based source position.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Line, int Column)
{
    public bool Is(string text) => Kind != TokenKind.End && Text == text;
    public override string ToString() => Kind == TokenKind.End ? "end of file" : $"'{Text}'";
}

/// <summary>
/// Splits PTX into words (identifiers, directives, dotted opcodes, registers like <c>%tid.x</c>),
/// numbers (including <c>0f3F800000</c> and <c>6.0</c>) and punctuation; drops comments.
/// </summary>
internal static class PtxLexer
{
    public static List<Token> Tokenize(string text, string file)
    {
        var tokens = new List<Token>(text.Length / 4);
        int i = 0, line = 1, lineStart = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\n') { i++; line++; lineStart = i; continue; }
            if (char.IsWhiteSpace(c)) { i++; continue; }
            int col = i - lineStart + 1;
            if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n') i++;
                continue;
            }
            if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (end < 0) throw new PtxParseException(file, line, col, "unterminated /* comment");
                for (int k = i; k < end; k++)
                    if (text[k] == '\n') { line++; lineStart = k + 1; }
                i = end + 2;
                continue;
            }
            int start = i;
            if (IsWordStart(c))
            {
                while (i < text.Length && IsWordPart(text[i])) i++;
                tokens.Add(new Token(TokenKind.Word, text[start..i], line, col));
            }
            else if (char.IsAsciiDigit(c))
            {
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '.')) i++;
                tokens.Add(new Token(TokenKind.Number, text[start..i], line, col));
            }
            else if (c == '"')
            {
                int end = text.IndexOf('"', i + 1);
                int newline = text.IndexOf('\n', i + 1);
                if (end < 0 || (newline >= 0 && newline < end)) throw new PtxParseException(file, line, col, "unterminated string literal");
                i = end + 1;
                tokens.Add(new Token(TokenKind.String, text[start..i], line, col));
            }
            else if (",;:[]{}()+-@!<>|=".Contains(c))
            {
                i++;
                tokens.Add(new Token(TokenKind.Punct, c.ToString(), line, col));
            }
            else
            {
                throw new PtxParseException(file, line, col, $"unexpected character '{c}'");
            }
        }
        tokens.Add(new Token(TokenKind.End, "", line, i - lineStart + 1));
        return tokens;
    }

    private static bool IsWordStart(char c) => char.IsAsciiLetter(c) || c is '_' or '$' or '%' or '.';
    private static bool IsWordPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '$' or '%' or '.';
}
