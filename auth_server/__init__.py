"""auth_server"""
