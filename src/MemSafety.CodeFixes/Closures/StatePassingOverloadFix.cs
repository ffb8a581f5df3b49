using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.Closures;

/// <summary>
/// MSA3001: pass the captured values as state and make the lambda static. One captured value travels as itself and
/// the lambda's new parameter takes its name (C# 8 lets a lambda parameter shadow an outer local, so the body is
/// unchanged); several travel as a tuple <c>(a, b)</c> that the lambda deconstructs into the same names; <c>this</c>
/// travels as a parameter named <c>self</c> (or in the tuple) and the lambda's uses of <c>this</c>, explicit or
/// implicit, go through it. An <c>object</c> state is cast back in the lambda. The state argument only reads locals
/// and <c>this</c>, and the plan (<see cref="StatePassingPlan"/>) has checked that none of them changes after the call,
/// so the lambda sees the same values. Offered from C# 8 (the lambda is made <c>static</c> from C# 9; without it the
/// compiler still caches a lambda that captures nothing); not offered where the rewrite cannot be written: named or
/// explicit type arguments the new overload does not fit, a parameterless anonymous method, a type that cannot be
/// named, a name the lambda already declares, or a task whose <c>AsyncState</c> would change and may be read.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StatePassingOverloadFix)), Shared]
public sealed class StatePassingOverloadFix : MemSafetyCodeFix
{
    public StatePassingOverloadFix()
        : base(RuleIdentifiers.StatePassingOverload)
    {
    }

    /// <summary>One call's rewrite replaces the whole call, lambdas nested in it included, so two fixes on nested calls
    /// overlap and a batch of text edits keeps only one. Instead each lambda is planned on the document as the
    /// previous fixes left it, outermost (first in the text) first, like fixing one at a time: the outer rewrite
    /// keeps the inner lambda's nodes (and the annotation that finds it again), and fixing the inner call first would
    /// give the outer lambda a parameter named like a captured variable, which the outer plan refuses.</summary>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;
        var lambdas = new Dictionary<SyntaxNode, SyntaxAnnotation>();
        foreach (var diagnostic in diagnostics)
        {
            if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is AnonymousFunctionExpressionSyntax lambda && !lambdas.ContainsKey(lambda))
                lambdas.Add(lambda, new SyntaxAnnotation());
        }

        if (lambdas.Count == 0)
            return document;

        // Annotate the rewritten node, which carries the annotation of a lambda nested in it. Ascending start: outer first.
        var order = lambdas.OrderBy(pair => pair.Key.SpanStart).Select(pair => pair.Value).ToList();
        var current = document.WithSyntaxRoot(root.ReplaceNodes(lambdas.Keys, (original, rewritten) => rewritten.WithAdditionalAnnotations(lambdas[original])));
        foreach (var annotation in order)
        {
            var file = await FixDocument.ReadAsync(current, context.CancellationToken).ConfigureAwait(false);
            if (file.Root.GetAnnotatedNodes(annotation).FirstOrDefault() is not AnonymousFunctionExpressionSyntax lambda
                || Rewrite.Plan(file.Model, lambda, context.CancellationToken) is not { } rewrite)
            {
                continue;
            }

            var (call, replacement) = rewrite.Apply(await file.LineBreakAsync(context.CancellationToken).ConfigureAwait(false));
            current = file.WithRoot(file.Root.ReplaceNode(call, replacement));
        }

        return current;
    });

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (node is not AnonymousFunctionExpressionSyntax)
            return;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Rewrite.Plan(model, node, request.CancellationToken) is null)
            return;
        request.Register("Pass the captured values as state to a static lambda", ct => FixAsync(request.Document, diagnostic, ct), diagnostic);
    }

    private static async Task<Document> FixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var file = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var node = file.FindNode(diagnostic.Location.SourceSpan);
        var rewrite = Rewrite.Plan(file.Model, node, cancellationToken);
        if (rewrite is null)
            return document;
        var (call, replacement) = rewrite.Apply(await file.LineBreakAsync(cancellationToken).ConfigureAwait(false));
        return file.WithRoot(file.Root.ReplaceNode(call, replacement));
    }

    /// <summary>The rewrite of one call, planned from the analyzer's <see cref="StatePassingPlan"/>.</summary>
    private sealed class Rewrite
    {
        private readonly StatePassingPlan _plan;
        private readonly SemanticModel _model;
        private readonly bool _makeStatic;
        private readonly Dictionary<SyntaxNode, SyntaxNode> _thisUses = new();
        private readonly Dictionary<ISymbol, string> _captureNames = new(SymbolEqualityComparer.Default);
        private string _selfName = "self";
        private string _stateName = "state";
        private ITypeSymbol _stateType = null!;
        private string _lineBreak = "\n";

        private Rewrite(StatePassingPlan plan, SemanticModel model, bool makeStatic)
        {
            _plan = plan;
            _model = model;
            _makeStatic = makeStatic;
        }

        private bool SingleValue => _plan.StateElementCount == 1;

        private bool Tuple => _plan.StateElementCount > 1;

        public static Rewrite? Plan(SemanticModel model, SyntaxNode node, CancellationToken cancellationToken)
        {
            var version = ((CSharpParseOptions)node.SyntaxTree.Options).LanguageVersion;
            if (version < LanguageVersion.CSharp8 || node is not AnonymousFunctionExpressionSyntax
                || model.GetOperation(node, cancellationToken) is not IAnonymousFunctionOperation lambda)
            {
                return null;
            }

            var plan = StatePassingPlan.For(lambda, new StateOverloads(), anyLambda: true);
            if (plan is null || plan.ChangesVisibleAsyncState)
                return null;
            var rewrite = new Rewrite(plan, model, version >= LanguageVersion.CSharp9);
            return rewrite.Prepare() ? rewrite : null;
        }

        /// <summary>Checks everything the rewrite needs to be writable and chooses names and the state's type.</summary>
        private bool Prepare()
        {
            var overload = _plan.Overload;
            var compilation = _model.Compilation;
            if (Tuple && compilation.GetTypeByMetadataName("System.ValueTuple`2") is null)
                return false;
            if (ArgumentListOf(_plan.Call.Syntax) is not { } arguments)
                return false;

            // A new type parameter for the state cannot be added to explicit type arguments.
            if (!overload.ObjectState && overload.Kind != StateOverloadKind.ThreadPoolGeneric && HasExplicitTypeArguments(_plan.Call.Syntax))
                return false;

            // Names: captured locals keep theirs; 'self' and 'state' must be new to every lambda.
            var used = new HashSet<string>();
            var declared = new HashSet<string>();
            foreach (var each in _plan.Lambdas)
            {
                foreach (var token in each.Lambda.Syntax.DescendantTokens())
                {
                    if (token.IsKind(SyntaxKind.IdentifierToken))
                        used.Add(token.ValueText);
                }

                foreach (var declaration in each.Lambda.Syntax.DescendantNodes())
                {
                    var name = DeclaredName(declaration);
                    if (name is not null)
                        declared.Add(name);
                }

                if (each.Lambda.Syntax is AnonymousMethodExpressionSyntax { ParameterList: null })
                    return false;
            }

            foreach (var symbol in _plan.Captures)
            {
                if (declared.Contains(symbol.Name))
                    return false;
                _captureNames[symbol] = symbol.Name;
                used.Add(symbol.Name);
            }

            _selfName = Fresh("self", used);
            used.Add(_selfName);
            _stateName = Fresh("state", used);

            var stateType = StateType(compilation);
            if (stateType is null)
                return false;
            _stateType = stateType;

            foreach (var each in _plan.Lambdas)
            {
                if (!CollectThisUses(each.Lambda))
                    return false;
            }

            return StateArgumentPosition(arguments) is not null;
        }

        private ITypeSymbol? StateType(Compilation compilation)
        {
            if (_plan.Overload.ObjectState)
                return compilation.GetSpecialType(SpecialType.System_Object);
            var types = new List<ITypeSymbol>(_plan.StateElementCount);
            if (_plan.KeepsOldState)
            {
                // The tuple element needs a type of its own: not a bare null, default, lambda or target-typed new().
                if (_model.GetTypeInfo(((ArgumentSyntax)_plan.OldState!.Syntax).Expression).Type is not { } oldType
                    || _plan.OldState.Value.WithoutImplicitConversions() is IDefaultValueOperation or IObjectCreationOperation { Syntax: ImplicitObjectCreationExpressionSyntax })
                {
                    return null;
                }

                types.Add(oldType);
            }

            foreach (var symbol in _plan.Captures)
                types.Add(StatePassingPlan.TypeOf(symbol)!);
            if (_plan.CapturesThis)
                types.Add(_plan.Reported.Symbol.ContainingType);
            foreach (var type in types)
            {
                if (type.IsAnonymousType || type is IErrorTypeSymbol)
                    return null;
            }

            return types.Count == 1 ? types[0] : compilation.CreateTupleTypeSymbol(types.ToImmutableArray());
        }

        private static string? DeclaredName(SyntaxNode node) => node switch
        {
            VariableDeclaratorSyntax declarator => declarator.Identifier.ValueText,
            SingleVariableDesignationSyntax designation => designation.Identifier.ValueText,
            ParameterSyntax parameter => parameter.Identifier.ValueText,
            ForEachStatementSyntax loop => loop.Identifier.ValueText,
            CatchDeclarationSyntax @catch => @catch.Identifier.ValueText,
            LocalFunctionStatementSyntax function => function.Identifier.ValueText,
            FromClauseSyntax from => from.Identifier.ValueText,
            LetClauseSyntax let => let.Identifier.ValueText,
            JoinClauseSyntax join => join.Identifier.ValueText,
            QueryContinuationSyntax into => into.Identifier.ValueText,
            _ => null,
        };

        private static string Fresh(string name, HashSet<string> used)
        {
            var candidate = name;
            for (var i = 2; used.Contains(candidate); i++)
                candidate = name + i;
            return candidate;
        }

        /// <summary>Every use of <c>this</c> in the lambda, explicit or implicit, mapped to its rewrite through the state.</summary>
        private bool CollectThisUses(IAnonymousFunctionOperation lambda)
        {
            foreach (var operation in lambda.Body.DescendantsAndSelf())
            {
                if (operation is not IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } reference)
                    continue;
                if (!reference.IsImplicit)
                {
                    if (reference.Syntax is not ThisExpressionSyntax)
                        return false;
                    _thisUses[reference.Syntax] = SyntaxFactory.IdentifierName(_selfName).WithTriviaFrom(reference.Syntax);
                    continue;
                }

                var name = reference.Parent switch
                {
                    IInvocationOperation { Syntax: InvocationExpressionSyntax { Expression: SimpleNameSyntax simple } } => simple,
                    IMemberReferenceOperation { Syntax: SimpleNameSyntax simple } => simple,
                    _ => null,
                };
                if (name is null)
                    return false;
                _thisUses[name] = SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.IdentifierName(_selfName), name.WithoutTrivia())
                    .WithTriviaFrom(name);
            }

            return true;
        }

        // ------------------------------------------------------------------ the call

        private static ArgumentListSyntax? ArgumentListOf(SyntaxNode call) => call switch
        {
            InvocationExpressionSyntax invocation => invocation.ArgumentList,
            BaseObjectCreationExpressionSyntax creation => creation.ArgumentList,
            _ => null,
        };

        private static bool HasExplicitTypeArguments(SyntaxNode call)
            => call is InvocationExpressionSyntax { Expression: GenericNameSyntax or MemberAccessExpressionSyntax { Name: GenericNameSyntax } };

        /// <summary>Arguments of the reduced form of an extension method call do not include the receiver.</summary>
        private int ReceiverOffset()
        {
            var arguments = _plan.Call is IInvocationOperation invocation ? invocation.Arguments : ((IObjectCreationOperation)_plan.Call).Arguments;
            return arguments.Length > 0 && arguments[0].Syntax is not ArgumentSyntax ? 1 : 0;
        }

        /// <summary>Where the new state argument goes for a sibling overload: (index, named). Null when positional arguments
        /// after it would be taken for others.</summary>
        private (int Index, bool Named)? StateArgumentPosition(ArgumentListSyntax arguments)
        {
            if (_plan.Overload.Kind == StateOverloadKind.OwnState)
                return (-1, false);
            var target = _plan.Overload.StateParameter - ReceiverOffset();
            var positional = 0;
            foreach (var argument in arguments.Arguments)
            {
                if (argument.NameColon is not null)
                    break;
                positional++;
            }

            if (positional == arguments.Arguments.Count && target <= positional)
                return (target, false);
            return target >= positional ? (arguments.Arguments.Count, true) : null;
        }

        public (SyntaxNode Call, SyntaxNode Replacement) Apply(string lineBreak)
        {
            _lineBreak = lineBreak;
            var call = _plan.Call.Syntax;
            var lambdas = new Dictionary<SyntaxNode, StateLambda>();
            foreach (var each in _plan.Lambdas)
                lambdas[each.Lambda.Syntax] = each;
            var replaced = call.ReplaceNodes(
                _thisUses.Keys.Concat(lambdas.Keys),
                (original, rewritten) => lambdas.TryGetValue(original, out var each)
                    ? RewriteLambda((AnonymousFunctionExpressionSyntax)rewritten, each)
                    : _thisUses[original]);

            var arguments = ArgumentListOf(replaced)!;
            var list = arguments.Arguments;
            var state = StateExpression();
            switch (_plan.Overload.Kind)
            {
                case StateOverloadKind.OwnState:
                    var index = ArgumentListOf(call)!.Arguments.IndexOf((ArgumentSyntax)_plan.OldState!.Syntax);
                    list = list.Replace(list[index], list[index].WithExpression(state.WithTriviaFrom(list[index].Expression)));
                    break;
                case StateOverloadKind.ThreadPoolGeneric:
                    list = list.Add(SyntaxFactory.Argument(state))
                        .Add(SyntaxFactory.Argument(SyntaxFactory.NameColon("preferLocal"), default, SyntaxFactory.LiteralExpression(SyntaxKind.FalseLiteralExpression)));
                    break;
                default:
                    var (position, named) = StateArgumentPosition(ArgumentListOf(call)!)!.Value;
                    var argument = named
                        ? SyntaxFactory.Argument(SyntaxFactory.NameColon(_plan.Overload.Method.Parameters[_plan.Overload.StateParameter].Name), default, state)
                        : SyntaxFactory.Argument(state);
                    list = list.Insert(position, argument);
                    break;
            }

            return (call, replaced.ReplaceNode(arguments, arguments.WithArguments(Spaced(list))));
        }

        private ExpressionSyntax StateExpression()
        {
            var elements = new List<ExpressionSyntax>(_plan.StateElementCount);
            if (_plan.KeepsOldState)
                elements.Add(((ArgumentSyntax)_plan.OldState!.Syntax).Expression.WithoutTrivia());
            foreach (var symbol in _plan.Captures)
                elements.Add(Identifier(_captureNames[symbol]));
            if (_plan.CapturesThis)
                elements.Add(SyntaxFactory.ThisExpression());
            return elements.Count == 1
                ? elements[0]
                : SyntaxFactory.TupleExpression(Spaced(SyntaxFactory.SeparatedList(elements.Select(SyntaxFactory.Argument))));
        }

        private static IdentifierNameSyntax Identifier(string name) => SyntaxFactory.IdentifierName(Token(name));

        /// <summary>An identifier token for a symbol's name, verbatim (<c>@event</c>) where the name is a keyword.</summary>
        private static SyntaxToken Token(string name)
            => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None
                ? SyntaxFactory.Identifier(default, SyntaxKind.IdentifierToken, "@" + name, name, default)
                : SyntaxFactory.Identifier(name);

        // ------------------------------------------------------------------ the lambda

        /// <summary>The name of the lambda's state parameter: a single captured value's own name, else 'state'
        /// (object state is cast into the captured name; a tuple is deconstructed).</summary>
        private string ParameterName()
        {
            if (!SingleValue || _plan.Overload.ObjectState)
                return _stateName;
            return _plan.CapturesThis ? _selfName : _captureNames[_plan.Captures[0]];
        }

        private SyntaxNode RewriteLambda(AnonymousFunctionExpressionSyntax lambda, StateLambda each)
        {
            var parameterName = ParameterName();
            var position = each.Lambda.Syntax.SpanStart;
            // The delegates take 'object?' where annotations are on; a lambda parameter typed 'object' would not match.
            var stateType = _plan.Overload.ObjectState && _model.GetNullableContext(position).AnnotationsEnabled()
                ? _stateType.WithNullableAnnotation(NullableAnnotation.Annotated)
                : _stateType;
            var typeSyntax = SyntaxFactory.ParseTypeName(stateType.ToMinimalDisplayString(_model, position));
            var parameters = ParametersOf(lambda);
            var explicitTypes = lambda is AnonymousMethodExpressionSyntax || parameters.Any(p => p.Type is not null);
            var newParameter = SyntaxFactory.Parameter(Token(parameterName));
            if (explicitTypes)
                newParameter = newParameter.WithType(typeSyntax.WithTrailingTrivia(SyntaxFactory.Space));
            if (_plan.Overload.Kind == StateOverloadKind.Sibling)
            {
                parameters = parameters.Insert(each.Slot.StateIndex, newParameter);
            }
            else
            {
                var old = parameters[each.Slot.StateIndex];
                parameters = parameters.Replace(old, newParameter.WithAttributeLists(old.AttributeLists).WithModifiers(old.Modifiers).WithTriviaFrom(old));
            }

            var prologue = Prologue(each);
            var rewritten = WithParameters(lambda, Spaced(parameters));
            if (prologue is not null)
                rewritten = WithPrologue(rewritten, prologue, each.Lambda, LineIndentation(each.Lambda.Syntax), _lineBreak);
            if (_makeStatic && !rewritten.Modifiers.Any(SyntaxKind.StaticKeyword))
            {
                var leading = rewritten.GetLeadingTrivia();
                rewritten = rewritten.WithoutLeadingTrivia().WithModifiers(rewritten.Modifiers.Insert(0, SyntaxFactory.Token(SyntaxKind.StaticKeyword).WithTrailingTrivia(SyntaxFactory.Space)))
                    .WithLeadingTrivia(leading);
            }

            return rewritten;
        }

        /// <summary>The statement that turns the state back into the names the body uses: a deconstruction of a tuple
        /// (discarding what this lambda does not use), or a cast of an object state; null when the parameter already is the value.</summary>
        private StatementSyntax? Prologue(StateLambda each)
        {
            var captured = CapturedBy(each.Lambda);
            if (Tuple)
            {
                var names = new List<string>(_plan.StateElementCount);
                var any = false;
                if (_plan.KeepsOldState)
                {
                    var old = each.ExistingStateParameter(_plan.Overload.Kind)!;
                    var usesOld = BodyFacts.Of(each.Lambda).ReferencesTo(old).Count > 0;
                    names.Add(usesOld ? old.Name : "_");
                    any |= usesOld;
                }

                foreach (var symbol in _plan.Captures)
                {
                    var uses = captured.ContainsSymbol(symbol);
                    names.Add(uses ? _captureNames[symbol] : "_");
                    any |= uses;
                }

                if (_plan.CapturesThis)
                {
                    var uses = BodyFacts.Of(each.Lambda).CapturesThis(each.Lambda);
                    names.Add(uses ? _selfName : "_");
                    any |= uses;
                }

                if (!any)
                    return null;
                return SyntaxFactory.ParseStatement("var (" + string.Join(", ", names.Select(n => n == "_" ? n : Identifier(n).Identifier.Text)) + ") = " + _stateName + ";");
            }

            if (!_plan.Overload.ObjectState)
                return null;
            var (name, type) = _plan.CapturesThis
                ? (_selfName, (ITypeSymbol)_plan.Reported.Symbol.ContainingType)
                : (_captureNames[_plan.Captures[0]], StatePassingPlan.TypeOf(_plan.Captures[0])!);
            var bang = _model.GetNullableContext(each.Lambda.Syntax.SpanStart).WarningsEnabled() ? "!" : "";
            var typeName = type.ToMinimalDisplayString(_model, each.Lambda.Syntax.SpanStart);
            return SyntaxFactory.ParseStatement("var " + Identifier(name).Identifier.Text + " = (" + typeName + ")" + _stateName + bang + ";");
        }

        private static List<ISymbol> CapturedBy(IAnonymousFunctionOperation lambda)
            => new(BodyFacts.Of(lambda).CapturedBy(lambda));

        /// <summary>A separated list whose separators are followed by a space where they had no trivia (new ones).</summary>
        private static SeparatedSyntaxList<T> Spaced<T>(SeparatedSyntaxList<T> list)
            where T : SyntaxNode
        {
            var separators = new List<SyntaxToken>(list.SeparatorCount);
            foreach (var separator in list.GetSeparators())
                separators.Add(separator.HasTrailingTrivia || separator.HasLeadingTrivia ? separator : separator.WithTrailingTrivia(SyntaxFactory.Space));
            return SyntaxFactory.SeparatedList(list, separators);
        }

        private static SeparatedSyntaxList<ParameterSyntax> ParametersOf(AnonymousFunctionExpressionSyntax lambda) => lambda switch
        {
            SimpleLambdaExpressionSyntax simple => SyntaxFactory.SingletonSeparatedList(simple.Parameter.WithoutTrivia()),
            ParenthesizedLambdaExpressionSyntax parenthesized => parenthesized.ParameterList.Parameters,
            AnonymousMethodExpressionSyntax method => method.ParameterList!.Parameters,
            _ => default,
        };

        private static AnonymousFunctionExpressionSyntax WithParameters(AnonymousFunctionExpressionSyntax lambda, SeparatedSyntaxList<ParameterSyntax> parameters)
        {
            switch (lambda)
            {
                case SimpleLambdaExpressionSyntax simple:
                    if (parameters.Count == 1 && parameters[0].Type is null)
                        return simple.WithParameter(parameters[0].WithTriviaFrom(simple.Parameter));
                    var list = SyntaxFactory.ParameterList(parameters).WithTriviaFrom(simple.Parameter);
                    return SyntaxFactory.ParenthesizedLambdaExpression(simple.AsyncKeyword, list, simple.ArrowToken, simple.Block, simple.ExpressionBody)
                        .WithModifiers(simple.Modifiers)
                        .WithAttributeLists(simple.AttributeLists)
                        .WithTriviaFrom(simple);
                case ParenthesizedLambdaExpressionSyntax parenthesized:
                    if (parameters.Count == 1 && parameters[0] is { Type: null, Modifiers.Count: 0, AttributeLists.Count: 0 } single && parenthesized.ReturnType is null
                        && parenthesized.ParameterList.Parameters.Count == 0)
                    {
                        return SyntaxFactory.SimpleLambdaExpression(single.WithTrailingTrivia(parenthesized.ParameterList.GetTrailingTrivia()))
                            .WithArrowToken(parenthesized.ArrowToken)
                            .WithBlock(parenthesized.Block)
                            .WithExpressionBody(parenthesized.ExpressionBody)
                            .WithModifiers(parenthesized.Modifiers)
                            .WithAttributeLists(parenthesized.AttributeLists)
                            .WithLeadingTrivia(parenthesized.GetLeadingTrivia());
                    }

                    return parenthesized.WithParameterList(parenthesized.ParameterList.WithParameters(parameters));
                case AnonymousMethodExpressionSyntax method:
                    return method.WithParameterList(method.ParameterList!.WithParameters(parameters));
                default:
                    return lambda;
            }
        }

        /// <summary>The whitespace that starts the line the node starts on.</summary>
        private static string LineIndentation(SyntaxNode node)
        {
            var text = node.SyntaxTree.GetText();
            var line = text.Lines.GetLineFromPosition(node.SpanStart);
            var end = line.Start;
            while (end < line.End && text[end] is ' ' or '\t')
                end++;
            return text.ToString(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(line.Start, end));
        }

        /// <summary>Puts <paramref name="prologue"/> first in the lambda's body; an expression body becomes a block laid out
        /// under the line the lambda starts on.</summary>
        private static AnonymousFunctionExpressionSyntax WithPrologue(AnonymousFunctionExpressionSyntax lambda, StatementSyntax prologue, IAnonymousFunctionOperation original,
            string indentation, string lineBreak)
        {
            if (lambda.Block is { } block)
            {
                var first = block.Statements.FirstOrDefault();
                var leading = first?.GetLeadingTrivia() ?? SyntaxFactory.TriviaList(SyntaxFactory.Space);
                var separator = first is not null && block.OpenBraceToken.TrailingTrivia.Any(SyntaxKind.EndOfLineTrivia)
                    ? SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine(lineBreak))
                    : SyntaxFactory.TriviaList(SyntaxFactory.Space);
                var statement = prologue.WithLeadingTrivia(leading).WithTrailingTrivia(separator);
                if (first is null)
                    return lambda.WithBlock(block.WithStatements(block.Statements.Add(statement)));
                return lambda.WithBlock(block.WithStatements(block.Statements.Insert(0, statement)));
            }

            var expression = lambda.ExpressionBody!;
            var symbol = original.Symbol;
            var returnsNothing = symbol.ReturnsVoid || symbol.IsAsync && symbol.ReturnType is INamedTypeSymbol { IsGenericType: false };
            var unit = indentation.Contains("\t") ? "\t" : "    ";
            var inner = SyntaxFactory.TriviaList(SyntaxFactory.Whitespace(indentation + unit));
            var end = SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine(lineBreak));
            StatementSyntax body = returnsNothing
                ? SyntaxFactory.ExpressionStatement(expression.WithoutTrivia())
                : SyntaxFactory.ReturnStatement(SyntaxFactory.Token(SyntaxKind.ReturnKeyword).WithTrailingTrivia(SyntaxFactory.Space), expression.WithoutTrivia(), SyntaxFactory.Token(SyntaxKind.SemicolonToken));
            var newBlock = SyntaxFactory.Block(
                    SyntaxFactory.Token(SyntaxKind.OpenBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(indentation)).WithTrailingTrivia(end),
                    SyntaxFactory.List(new[] { prologue.WithLeadingTrivia(inner).WithTrailingTrivia(end), body.WithLeadingTrivia(inner).WithTrailingTrivia(end) }),
                    SyntaxFactory.Token(SyntaxKind.CloseBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(indentation)))
                .WithTrailingTrivia(expression.GetTrailingTrivia());
            return lambda switch
            {
                ParenthesizedLambdaExpressionSyntax parenthesized => parenthesized.WithArrowToken(parenthesized.ArrowToken.WithTrailingTrivia(end)).WithExpressionBody(null).WithBlock(newBlock),
                SimpleLambdaExpressionSyntax simple => simple.WithArrowToken(simple.ArrowToken.WithTrailingTrivia(end)).WithExpressionBody(null).WithBlock(newBlock),
                _ => lambda,
            };
        }
    }
}
