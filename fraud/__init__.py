"""fraud"""
