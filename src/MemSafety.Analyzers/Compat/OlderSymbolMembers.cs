#if ROSLYN_3_7
using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Reflection;
using System.Threading;

// Members that Roslyn 3.7 does not have, as C# 14 extension members under the same names, so that rules call them
// unchanged. The 3.7 lane also runs in newer compilers (3.8 to 4.7) that do have them: each shim reads the real
// member by reflection when the loaded Roslyn has it and otherwise returns what a 3.7 compiler means (no records,
// no ref fields, no scoped parameters, no per-tree options provider).
namespace Microsoft.CodeAnalysis
{
    internal enum ScopedKind
    {
        None = 0,
        ScopedRef = 1,
        ScopedValue = 2,
    }

    /// <summary>The children of an operation (Roslyn 3.7's <c>IOperation.Children</c>), shaped like 4.x's
    /// <c>IOperation.OperationList</c> as far as the rules use it.</summary>
    internal readonly struct ChildOperationList
    {
        private readonly ImmutableArray<IOperation> _items;

        public ChildOperationList(IEnumerable<IOperation> children)
        {
            var builder = ImmutableArray.CreateBuilder<IOperation>();
            foreach (var child in children)
            {
                if (child is not null)
                    builder.Add(child);
            }

            _items = builder.ToImmutable();
        }

        public int Count => _items.Length;

        public ImmutableArray<IOperation>.Enumerator GetEnumerator() => _items.GetEnumerator();

        public IEnumerable<IOperation> Reverse()
        {
            for (var i = _items.Length - 1; i >= 0; i--)
                yield return _items[i];
        }
    }

    /// <summary>Per-tree diagnostic options: the real provider (Roslyn 3.8+) through reflection, or 3.7's
    /// <c>SyntaxTree.DiagnosticOptions</c>.</summary>
    internal sealed class SyntaxTreeOptionsProvider
    {
        private static readonly PropertyInfo? s_provider = typeof(CompilationOptions).GetProperty("SyntaxTreeOptionsProvider");
        private readonly object? _real;

        private SyntaxTreeOptionsProvider(object? real) => _real = real;

        internal static SyntaxTreeOptionsProvider For(CompilationOptions options)
            => new(s_provider?.GetValue(options));

        public bool TryGetDiagnosticValue(SyntaxTree tree, string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity)
        {
            if (_real is null)
            {
#pragma warning disable CS0618 // Roslyn 3.7's own per-tree options (obsolete, and empty, in later versions).
                return tree.DiagnosticOptions.TryGetValue(diagnosticId, out severity);
#pragma warning restore CS0618
            }

            var args = new object?[] { tree, diagnosticId, cancellationToken, null };
            var found = (bool)_real.GetType().GetMethod("TryGetDiagnosticValue")!.Invoke(_real, args)!;
            severity = found ? (ReportDiagnostic)args[3]! : default;
            return found;
        }

        public bool TryGetGlobalDiagnosticValue(string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity)
        {
            severity = default;
            var method = _real?.GetType().GetMethod("TryGetGlobalDiagnosticValue");
            if (method is null)
                return false;
            var args = new object?[] { diagnosticId, cancellationToken, null };
            var found = (bool)method.Invoke(_real, args)!;
            if (found)
                severity = (ReportDiagnostic)args[2]!;
            return found;
        }
    }

    internal static class OlderSymbolMembers
    {
        private static readonly PropertyInfo? s_isRecord = typeof(INamedTypeSymbol).GetProperty("IsRecord");
        private static readonly PropertyInfo? s_fieldRefKind = typeof(IFieldSymbol).GetProperty("RefKind");
        private static readonly PropertyInfo? s_isUsing = typeof(ILocalSymbol).GetProperty("IsUsing");
        private static readonly PropertyInfo? s_scopedKind = typeof(IParameterSymbol).GetProperty("ScopedKind");
        private static readonly PropertyInfo? s_callingConvention = typeof(IMethodSymbol).GetProperty("CallingConvention");

        extension(IOperation operation)
        {
            public ChildOperationList ChildOperations => new(operation.Children);
        }

        extension(INamedTypeSymbol type)
        {
            public bool IsRecord => s_isRecord?.GetValue(type) is true;
        }

        extension(IFieldSymbol fieldSymbol)
        {
            public RefKind RefKind => s_fieldRefKind?.GetValue(fieldSymbol) is { } kind ? (RefKind)Convert.ToInt32(kind) : RefKind.None;
        }

        extension(ILocalSymbol local)
        {
            public bool IsUsing => s_isUsing?.GetValue(local) is true;
        }

        extension(IParameterSymbol parameter)
        {
            public ScopedKind ScopedKind => s_scopedKind?.GetValue(parameter) is { } kind ? (ScopedKind)Convert.ToInt32(kind) : ScopedKind.None;
        }

        extension(IMethodSymbol method)
        {
            public System.Reflection.Metadata.SignatureCallingConvention CallingConvention
                => s_callingConvention?.GetValue(method) is { } convention
                    ? (System.Reflection.Metadata.SignatureCallingConvention)Convert.ToInt32(convention)
                    : System.Reflection.Metadata.SignatureCallingConvention.Default;
        }

        extension(CompilationOptions options)
        {
            public SyntaxTreeOptionsProvider SyntaxTreeOptionsProvider => SyntaxTreeOptionsProvider.For(options);
        }
    }
}
#endif
